import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** One bulk action from the onboarding page; its emails carry the same batch id. */
@Entity('bulk_batches')
export class BulkBatch {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 20 })
  action!: string;

  @Column({ type: 'int', nullable: true })
  createdByStaffId!: number | null;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;

  @Column({ type: 'int', default: 0 })
  requestedCount!: number;

  @Column({ type: 'int', default: 0 })
  queuedCount!: number;

  @Column({ type: 'int', default: 0 })
  skippedCount!: number;

  /** JSON object: skipped count by reason. */
  @Column({ type: 'text', nullable: true })
  skippedReasons!: string | null;

  /** JSON object: skipped patient ids by reason (the batch report's skipped rows). */
  @Column({ type: 'text', nullable: true })
  skippedPatientIds!: string | null;

  /** JSON array: patients not emailed again because the same email went out seconds before. */
  @Column({ type: 'text', nullable: true })
  repeatedPatientIds!: string | null;
}
