import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Links that go out by email. */
export type EmailedLinkPurpose = 'invite' | 'reset';
/** Links without an email (issue #18): shown in the clinic as a QR code, or printed in a letter; both carry a typed code. */
export type ActivationPurpose = 'clinic' | 'letter';
export type PortalTokenPurpose = EmailedLinkPurpose | ActivationPurpose;
export const ACTIVATION_PURPOSES: readonly ActivationPurpose[] = ['clinic', 'letter'];

/** An invite/reset link, or an activation code (clinic, letter). Only the SHA-256 of the token (and code) is kept. */
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
  /** SHA-256 of the typed activation code (clinic and letter links only). */
  @Column({ type: 'varchar', length: 64, nullable: true, unique: true })
  codeHash!: string | null;

  /** Wrong answers to the identity check asked before the password form; the link is revoked at the limit. */
  @Column({ type: 'int', default: 0 })
  identityFailures!: number;
  /** A representative's link: the representative account it sets up (patientId is the patient they act for). */
  @Column({ type: 'int', nullable: true })
  representativeAccountId!: number | null;
}
