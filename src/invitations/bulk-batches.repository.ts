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
}

/** bulk_batches: the only place its SQL lives. */
@Injectable()
export class BulkBatchesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(batch: NewBulkBatch, now: Date, tx: EntityManager): Promise<void> {
    await tx.query(
      'INSERT INTO bulk_batches (id, action, created_by_staff_id, created_at, requested_count, queued_count, skipped_count, skipped_reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [
        batch.id,
        batch.action,
        batch.staffId,
        toSqlDateTime(now),
        batch.requested,
        batch.queued,
        batch.skipped,
        JSON.stringify(batch.skippedReasons),
      ],
    );
  }

  async exists(batchId: string, db: EntityManager = this.dataSource.manager): Promise<boolean> {
    const rows: unknown[] = await db.query('SELECT id FROM bulk_batches WHERE id = ?', [batchId]);
    return rows.length > 0;
  }
}
