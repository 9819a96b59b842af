import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Issue 17: link states (opened, failed, bounced times), the reminder policy and one claim row per
 * reminder step (its unique key is what keeps several instances from sending the same reminder),
 * and who asked for a link (staff, a reminder, the patient's "send me a new link").
 */
export class ActivationFollowThrough1766400000000 implements MigrationInterface {
  name = 'ActivationFollowThrough1766400000000';

  async up(q: QueryRunner): Promise<void> {
    const sqlite = q.connection.options.type === 'better-sqlite3';
    await q.addColumns('portal_tokens', [
      new TableColumn({ name: 'opened_at', type: 'datetime', isNullable: true }),
      // staff | reminder | patient; null on links issued before this migration (staff).
      new TableColumn({ name: 'issued_by', type: 'varchar', length: '10', isNullable: true }),
    ]);
    await q.addColumns('mail_outbox', [
      new TableColumn({ name: 'failed_at', type: 'datetime', isNullable: true }),
      new TableColumn({ name: 'bounced_at', type: 'datetime', isNullable: true }),
      // hard | soft
      new TableColumn({ name: 'bounce_kind', type: 'varchar', length: '4', isNullable: true }),
      new TableColumn({ name: 'bounce_detail', type: 'varchar', length: '500', isNullable: true }),
    ]);
    // A hard bounce blocks emails to the bounced address; a changed address on file is free again.
    await q.addColumns('portal_accounts', [
      new TableColumn({ name: 'bounced_email', type: 'varchar', length: '254', isNullable: true }),
      new TableColumn({ name: 'email_bounced_at', type: 'datetime', isNullable: true }),
    ]);
    await q.createTable(
      new Table({
        name: 'reminder_policy',
        columns: [
          { name: 'id', type: 'int', isPrimary: true },
          { name: 'enabled', type: 'boolean', default: false },
          // Comma-separated whole days after the invite, e.g. "3,7".
          { name: 'days_after_invite', type: 'varchar', length: '64' },
          { name: 'days_before_appointment', type: 'int' },
          { name: 'max_per_patient', type: 'int' },
          // Clinic-time hours [from, until) in which reminders may go out.
          { name: 'allowed_from_hour', type: 'int' },
          { name: 'allowed_until_hour', type: 'int' },
          { name: 'updated_at', type: 'datetime', isNullable: true },
          { name: 'updated_by_staff_id', type: 'int', isNullable: true },
        ],
      }),
    );
    await q.query(
      'INSERT INTO reminder_policy (id, enabled, days_after_invite, days_before_appointment, max_per_patient, allowed_from_hour, allowed_until_hour) VALUES (1, 0, ?, 2, 3, 8, 20)',
      ['3,7'],
    );
    await q.createTable(
      new Table({
        name: 'portal_reminders',
        columns: [
          {
            name: 'id',
            type: sqlite ? 'integer' : 'int',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'patient_id', type: 'int' },
          // "invite:<token id>:<days>" or "visit:<appointment start>": one reminder per step, ever.
          { name: 'step_key', type: 'varchar', length: '64' },
          { name: 'claimed_by', type: 'varchar', length: '64' },
          { name: 'claimed_at', type: 'datetime' },
          { name: 'portal_token_id', type: 'int', isNullable: true },
          // sent (queued in the outbox) | skipped (the patient could not be reminded when claimed)
          { name: 'outcome', type: 'varchar', length: '10' },
        ],
        indices: [new TableIndex({ name: 'uq_portal_reminders_step', columnNames: ['patient_id', 'step_key'], isUnique: true })],
        foreignKeys: [
          { columnNames: ['patient_id'], referencedTableName: 'patients', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('portal_reminders');
    await q.dropTable('reminder_policy');
    for (const column of ['email_bounced_at', 'bounced_email']) await q.dropColumn('portal_accounts', column);
    for (const column of ['bounce_detail', 'bounce_kind', 'bounced_at', 'failed_at']) await q.dropColumn('mail_outbox', column);
    for (const column of ['issued_by', 'opened_at']) await q.dropColumn('portal_tokens', column);
  }
}
