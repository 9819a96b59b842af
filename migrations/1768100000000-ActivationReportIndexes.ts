import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * Issue 17: covering indexes for the activation report's per-patient link pass
 * (src/activation/activation-report.repository.ts). portal_tokens in patient order with every column the
 * funnel reads, so the grouping needs neither table rows nor a sort; each link's email status from the index
 * alone. Plain indexes, no triggers: nothing extra on a write but the index entries (safe on Galera).
 */
export class ActivationReportIndexes1768100000000 implements MigrationInterface {
  name = 'ActivationReportIndexes1768100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'portal_tokens',
      new TableIndex({
        name: 'ix_portal_tokens_funnel',
        columnNames: ['patient_id', 'representative_account_id', 'purpose', 'created_at', 'opened_at', 'used_at'],
      }),
    );
    await q.createIndex(
      'mail_outbox',
      new TableIndex({ name: 'ix_mail_outbox_token_status', columnNames: ['portal_token_id', 'status'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('mail_outbox', 'ix_mail_outbox_token_status');
    await q.dropIndex('portal_tokens', 'ix_portal_tokens_funnel');
  }
}
