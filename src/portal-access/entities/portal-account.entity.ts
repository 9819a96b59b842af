import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import { Patient } from '../../patients/entities/patient.entity';

/** A patient's Patient Portal account; one per patient, created red (access not enabled). */
@Entity('portal_accounts')
export class PortalAccount {
  @PrimaryColumn({ type: 'int' })
  patientId!: number;

  // One-directional: patients/ is a leaf and knows nothing of portal accounts.
  @OneToOne(() => Patient, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'patient_id' })
  patient?: Patient;

  @Column({ type: 'boolean', default: false })
  accessEnabled!: boolean;

  @Column({ type: 'varchar', length: 64, nullable: true })
  username!: string | null;

  /** NFKC-normalised, case-folded username; unique, so look-alike names collide. */
  @Column({ type: 'varchar', length: 64, nullable: true, unique: true })
  usernameKey!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true, select: false })
  passwordHash!: string | null;

  @Column({ type: 'datetime', nullable: true })
  enabledAt!: Date | null;

  @Column({ type: 'int', nullable: true })
  enabledByStaffId!: number | null;

  @Column({ type: 'datetime', nullable: true })
  invitedAt!: Date | null;

  @Column({ type: 'datetime', nullable: true })
  firstLoginAt!: Date | null;

  @Column({ type: 'datetime', nullable: true })
  lastLoginAt!: Date | null;

  @Column({ type: 'int', default: 0 })
  failedLoginCount!: number;

  @Column({ type: 'datetime', nullable: true })
  lockedUntil!: Date | null;

  @Column({ type: 'int', default: 0 })
  sessionGeneration!: number;

  /** The address a hard bounce came back from: no email goes to it while it is still the one on file. */
  @Column({ type: 'varchar', length: 254, nullable: true })
  bouncedEmail!: string | null;

  @Column({ type: 'datetime', nullable: true })
  emailBouncedAt!: Date | null;

  @VersionColumn({ default: 1 })
  version!: number;

  @UpdateDateColumn({ type: 'datetime' })
  updatedAt!: Date;
}
