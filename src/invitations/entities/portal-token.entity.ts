import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type PortalTokenPurpose = 'invite' | 'reset';

/** An emailed invite/reset link. Only the SHA-256 of the token is kept. */
@Entity('portal_tokens')
export class PortalToken {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'int' })
  patientId!: number;

  @Column({ type: 'varchar', length: 10 })
  purpose!: PortalTokenPurpose;

  @Column({ type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  /** The address the link went to; the link only works while that is still the patient's email. */
  @Column({ type: 'varchar', length: 254 })
  sentTo!: string;

  @Column({ type: 'int', nullable: true })
  createdByStaffId!: number | null;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;

  @Column({ type: 'datetime' })
  expiresAt!: Date;

  @Column({ type: 'datetime', nullable: true })
  usedAt!: Date | null;

  @Column({ type: 'datetime', nullable: true })
  revokedAt!: Date | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  revokedReason!: string | null;

  /** The first GET of the link page (opening consumes nothing; mail scanners count too). */
  @Column({ type: 'datetime', nullable: true })
  openedAt!: Date | null;

  /** staff | reminder | patient ("send me a new link"); null on older links (staff). */
  @Column({ type: 'varchar', length: 10, nullable: true })
  issuedBy!: string | null;
  /** A representative's link: the representative account it sets up (patientId is the patient they act for). */
  @Column({ type: 'int', nullable: true })
  representativeAccountId!: number | null;
}
