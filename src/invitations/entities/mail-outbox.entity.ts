import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** cancelled: its link was revoked before it was sent (email change, access disabled, superseded). */
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'cancelled' | 'bounced';

/** One email to send, written in the same transaction as the change that causes it. */
@Entity('mail_outbox')
export class MailOutbox {
  /** bigint comes back from mysql2 as a string. */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'varchar', length: 36, nullable: true })
  batchId!: string | null;

  @Column({ type: 'int', nullable: true })
  patientId!: number | null;

  @Column({ type: 'int', nullable: true })
  portalTokenId!: number | null;

  @Column({ type: 'varchar', length: 32 })
  kind!: string;

  @Column({ type: 'varchar', length: 254 })
  toAddress!: string;

  @Column({ type: 'varchar', length: 255 })
  subject!: string;

  /** Erased once sent or finally failed, so the raw link does not stay in the database. */
  @Column({ type: 'text', nullable: true })
  textBody!: string | null;

  @Column({ type: 'text', nullable: true })
  htmlBody!: string | null;

  @Column({ type: 'varchar', length: 10, default: 'pending' })
  status!: OutboxStatus;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column({ type: 'datetime' })
  nextAttemptAt!: Date;

  @Column({ type: 'varchar', length: 64, nullable: true })
  claimedBy!: string | null;

  @Column({ type: 'datetime', nullable: true })
  claimedUntil!: Date | null;

  @Column({ type: 'datetime', nullable: true })
  sentAt!: Date | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @Column({ type: 'datetime', nullable: true })
  failedAt!: Date | null;

  /** A delivery status notification came back for this email (VERP return path). */
  @Column({ type: 'datetime', nullable: true })
  bouncedAt!: Date | null;

  /** hard (address does not work) | soft (temporary; recorded only). */
  @Column({ type: 'varchar', length: 4, nullable: true })
  bounceKind!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  bounceDetail!: string | null;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;
}
