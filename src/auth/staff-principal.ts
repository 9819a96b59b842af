import type { StaffRole } from './entities/staff-user.entity';

/** What the session knows about the signed-in staff member (req.user). */
export interface StaffPrincipal {
  id: number;
  email: string;
  name: string;
  role: StaffRole;
  mustChangePassword: boolean;
}
