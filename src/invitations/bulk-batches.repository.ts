import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { toSqlDateTime } from '../database/sql';

export interface NewBulkBatch {
  id: string;
  action: string;
  staffId: number | null;
  requested: number;
  queued: number;
  skipped: number;
  skippedReasons: Record<string, number | undefined>;
  /** Skipped patient ids by reason. */
  skippedIds: Record<string, number[] | undefined>;
  /** Patients not emailed again (the same email went out seconds before). */
  repeatedIds: number[];
}

/** Who a batch did not email, as stored on it (empty for batches older than the columns). */
export interface BatchUnsent {
  skipped: Array<{ patientId: number; reason: string }>;
  repeated: number[];
}

/** bulk_batches: the only place its SQL lives. */
@Injectable()
export class BulkBatchesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(batch: NewBulkBatch, now: Date, tx: EntityManager): Promise<void> {
    await tx.query(
      `INSERT INTO bulk_batches (id, action, created_by_staff_id, created_at, requested_count, queued_count, skipped_count,
                                 skipped_reasons, skipped_patient_ids, repeated_patient_ids)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        batch.id,
        batch.action,
        batch.staffId,
        toSqlDateTime(now),
        batch.requested,
        batch.queued,
        batch.skipped,
        JSON.stringify(batch.skippedReasons),
        JSON.stringify(batch.skippedIds),
        JSON.stringify(batch.repeatedIds),
      ],
    );
  }

  /** Who the batch did not email, with why; null when there is no such batch. */
  async unsentOf(batchId: string): Promise<BatchUnsent | null> {
    const [row]: Array<{ skipped_patient_ids: string | null; repeated_patient_ids: string | null }> = await this.dataSource.query(
      'SELECT skipped_patient_ids, repeated_patient_ids FROM bulk_batches WHERE id = ?',
      [batchId],
    );
    if (!row) return null;
    const byReason = JSON.parse(row.skipped_patient_ids ?? '{}') as Record<string, number[]>;
    return {
      skipped: Object.entries(byReason).flatMap(([reason, ids]) =>
        ids.map((patientId) => ({ patientId: Number(patientId), reason })),
      ),
      repeated: (JSON.parse(row.repeated_patient_ids ?? '[]') as number[]).map(Number),
    };
  }

  async exists(batchId: string, db: EntityManager = this.dataSource.manager): Promise<boolean> {
    const rows: unknown[] = await db.query('SELECT id FROM bulk_batches WHERE id = ?', [batchId]);
    return rows.length > 0;
  }
}
