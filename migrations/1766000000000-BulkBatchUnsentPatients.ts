import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Who a bulk invite did not email, kept on the batch itself: the batch report is built from
 * bulk_batches and mail_outbox, never by reading the audit trail's JSON. Batches made before
 * this migration have neither column (their report lists the queued emails only).
 */
export class BulkBatchUnsentPatients1766000000000 implements MigrationInterface {
  name = 'BulkBatchUnsentPatients1766000000000';

  async up(q: QueryRunner): Promise<void> {
    // JSON object: skip reason -> patient ids.
    await q.addColumn('bulk_batches', new TableColumn({ name: 'skipped_patient_ids', type: 'text', isNullable: true }));
    // JSON array: patients who got the same email seconds before (no second one queued).
    await q.addColumn('bulk_batches', new TableColumn({ name: 'repeated_patient_ids', type: 'text', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('bulk_batches', 'repeated_patient_ids');
    await q.dropColumn('bulk_batches', 'skipped_patient_ids');
  }
}
