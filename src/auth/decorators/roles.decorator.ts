import { SetMetadata } from '@nestjs/common';
import type { StaffRole } from '../entities/staff-user.entity';

export const ROLES = 'roles';

/** Narrows a staff route to these roles, e.g. `@Roles('admin')`. */
export const Roles = (...roles: StaffRole[]) => SetMetadata(ROLES, roles);
