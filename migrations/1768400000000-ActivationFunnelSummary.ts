import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Issue 17: the activation report's per-patient funnel summary, kept by the app in the same transaction as
 * each change that moves a milestone (src/patients/activation-funnel.repository.ts, the tables' one writer),
 * and backfilled here from the raw tables. `stage` is the furthest funnel stage reached (0 access not
 * enabled … 6 signed in), `span_ms` the first invite to the first own link used for set-up patients; the
 * indexes lead with the stage so each report table is one index-ordered pass with no sort.
 * Self-contained (a migration never imports src): the backfill repeats the repository's rebuild() SQL.
 */
export class ActivationFunnelSummary1768400000000 implements MigrationInterface {
  name = 'ActivationFunnelSummary1768400000000';

  async up(q: QueryRunner): Promise<void> {
    const sqlite = q.connection.options.type === 'better-sqlite3';
    await q.createTable(
      new Table({
        name: 'activation_funnel',
        columns: [
          { name: 'patient_id', type: 'int', isPrimary: true },
          { name: 'access_enabled', type: 'boolean', default: false },
          { name: 'primary_provider_id', type: 'int', isNullable: true },
          { name: 'first_invite_at', type: 'datetime', isNullable: true },
          // Emails of own links now 'sent' (a count: a hard bounce takes one back).
          { name: 'delivered_emails', type: 'int', default: 0 },
          { name: 'opened', type: 'boolean', default: false },
          { name: 'first_used_at', type: 'datetime', isNullable: true },
          { name: 'set_up', type: 'boolean', default: false },
          { name: 'signed_in', type: 'boolean', default: false },
          { name: 'stage', type: 'smallint', default: 0 },
          { name: 'invite_month', type: 'varchar', length: '7', isNullable: true },
          { name: 'span_ms', type: 'bigint', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'ix_activation_funnel_provider', columnNames: ['stage', 'primary_provider_id', 'span_ms'] }),
          new TableIndex({ name: 'ix_activation_funnel_month', columnNames: ['stage', 'invite_month', 'span_ms'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'activation_funnel_tags',
        columns: [
          { name: 'patient_id', type: 'int', isPrimary: true },
          { name: 'tag_id', type: 'int', isPrimary: true },
          { name: 'stage', type: 'smallint', default: 0 },
          { name: 'span_ms', type: 'bigint', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'ix_activation_funnel_tags_tag', columnNames: ['stage', 'tag_id', 'span_ms'] })],
      }),
    );

    const own = 't.representative_account_id IS NULL';
    await q.query(
      `INSERT INTO activation_funnel (patient_id, access_enabled, primary_provider_id, first_invite_at, delivered_emails, opened, first_used_at, set_up, signed_in, stage)
       SELECT pa.patient_id, pa.access_enabled, p.primary_provider_id, f.first_invite, COALESCE(f.delivered, 0), COALESCE(f.opened, 0),
              f.first_used, CASE WHEN pa.username IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN pa.first_login_at IS NOT NULL THEN 1 ELSE 0 END, 0
         FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id
         LEFT JOIN (SELECT t.patient_id,
                           MIN(CASE WHEN ${own} AND t.purpose = 'invite' THEN t.created_at END) AS first_invite,
                           SUM(CASE WHEN ${own} AND o.status = 'sent' THEN 1 ELSE 0 END) AS delivered,
                           MAX(CASE WHEN ${own} AND t.opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened,
                           MIN(CASE WHEN ${own} THEN t.used_at END) AS first_used
                      FROM portal_tokens t LEFT JOIN mail_outbox o ON o.portal_token_id = t.id
                     GROUP BY t.patient_id) f ON f.patient_id = pa.patient_id`,
    );
    // The one dialect difference: milliseconds between two DATETIMEs.
    const spanMs = sqlite
      ? 'CAST(ROUND((julianday(first_used_at) - julianday(first_invite_at)) * 86400000) AS INTEGER)'
      : 'TIMESTAMPDIFF(MICROSECOND, first_invite_at, first_used_at) DIV 1000';
    await q.query(
      `UPDATE activation_funnel SET
         stage = CASE WHEN access_enabled = 0 THEN 0 WHEN first_invite_at IS NULL THEN 1 WHEN delivered_emails = 0 THEN 2
                      WHEN opened = 0 THEN 3 WHEN set_up = 0 THEN 4 WHEN signed_in = 0 THEN 5 ELSE 6 END,
         span_ms = CASE WHEN access_enabled = 1 AND first_invite_at IS NOT NULL AND delivered_emails > 0 AND opened = 1 AND set_up = 1
                         AND first_used_at IS NOT NULL THEN ${spanMs} END,
         invite_month = SUBSTR(CAST(first_invite_at AS CHAR), 1, 7)`,
    );
    await q.query(
      `INSERT INTO activation_funnel_tags (patient_id, tag_id, stage, span_ms)
       SELECT pt.patient_id, pt.tag_id, f.stage, f.span_ms FROM patient_tags pt JOIN activation_funnel f ON f.patient_id = pt.patient_id`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('activation_funnel_tags');
    await q.dropTable('activation_funnel');
  }
}
