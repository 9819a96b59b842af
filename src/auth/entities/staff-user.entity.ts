import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type StaffRole = 'admin' | 'staff';
export const STAFF_ROLES: readonly StaffRole[] = ['admin', 'staff'];

@Entity('staff_users')
export class StaffUser {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Always lower-case (see StaffUsersService.normalizeEmail). */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 255, select: false })
  passwordHash!: string;

  @Column({ type: 'varchar', length: 10, default: 'staff' })
  role!: StaffRole;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ type: 'boolean', default: false })
  mustChangePassword!: boolean;

  @Column({ type: 'int', default: 0 })
  failedLoginCount!: number;

  @Column({ type: 'datetime', nullable: true })
  lockedUntil!: Date | null;

  @Column({ type: 'datetime', nullable: true })
  lastLoginAt!: Date | null;

  @Column({ type: 'datetime', nullable: true })
  passwordChangedAt!: Date | null;

  @Column({ type: 'int', default: 0 })
  sessionGeneration!: number;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'datetime' })
  updatedAt!: Date;
}
