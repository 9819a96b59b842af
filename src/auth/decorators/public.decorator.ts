import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';

/** Opens a route to visitors without a staff session. Every other route needs one (StaffAuthGuard). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
