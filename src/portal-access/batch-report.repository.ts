import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { placeholders } from '../database/sql';

/** One audited outcome of a bulk invite batch, with the patient it was for. */
export interface BatchReportEvent {
  id: number | string;
  action: string;
  patient_id: number | string | null;
  details: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
}

/** The outbox row of one patient in a batch. */
export interface BatchReportMail {
  patient_id: number | string;
  to_address: string;
  status: string;
  last_error: string | null;
  sent_at: Date | string | null;
}

/** Reads for the bulk invite batch report (CSV): the batch's audit rows and outbox rows, keyset by audit id. */
@Injectable()
export class BatchReportRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async exists(batchId: string): Promise<boolean> {
    const found = await this.dataSource.query('SELECT id FROM bulk_batches WHERE id = ?', [batchId]);
    return found.length > 0;
  }

  /** The batch's invite/reset/skip audit rows after `afterId`, `limit` at a time. */
  async events(batchId: string, afterId: number, limit: number): Promise<BatchReportEvent[]> {
    return this.dataSource.query(
      `SELECT a.id, a.action, a.patient_id, a.details, p.first_name, p.last_name, p.email
         FROM audit_events a LEFT JOIN patients p ON p.id = a.patient_id
        WHERE a.batch_id = ? AND a.action IN ('portal.invite_issued', 'portal.reset_issued', 'portal.invite_skipped') AND a.id > ?
        ORDER BY a.id LIMIT ${Number(limit)}`,
      [batchId, afterId],
    );
  }

  async mails(batchId: string, patientIds: number[]): Promise<BatchReportMail[]> {
    if (patientIds.length === 0) return [];
    return this.dataSource.query(
      `SELECT patient_id, to_address, status, last_error, sent_at FROM mail_outbox WHERE batch_id = ? AND patient_id IN (${placeholders(patientIds.length)}) ORDER BY id`,
      [batchId, ...patientIds],
    );
  }
}
