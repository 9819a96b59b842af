import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `proxy`: a patient's authorised representative, signed in to their own portal account (actor id: that account). */
export type AuditActorType = 'staff' | 'patient' | 'proxy' | 'system' | 'import';

/** Append-only: nothing in the app updates or deletes these rows. */
@Entity('audit_events')
export class AuditEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'datetime' })
  occurredAt!: Date;

  @Column({ type: 'varchar', length: 10 })
  actorType!: AuditActorType;

  @Column({ type: 'int', nullable: true })
  actorId!: number | null;

  @Column({ type: 'varchar', length: 254, nullable: true })
  actorLabel!: string | null;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 16, default: 'success' })
  outcome!: string;

  @Column({ type: 'int', nullable: true })
  patientId!: number | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  batchId!: string | null;

  @Column({ type: 'varchar', length: 45, nullable: true })
  ip!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  userAgent!: string | null;

  /** JSON object with action-specific facts; never passwords, tokens or clinical notes. */
  @Column({ type: 'text', nullable: true })
  details!: string | null;
}
