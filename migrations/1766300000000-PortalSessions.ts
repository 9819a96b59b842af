import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * One row per signed-in portal session, so the account page can list where the account is
 * signed in and end a session from another device at once. Keyed on the portal account (today
 * portal_accounts.patient_id), not on a patient: a representative's account gets the same page.
 * The row holds a random handle, never the session id.
 */
export class PortalSessions1766300000000 implements MigrationInterface {
  name = 'PortalSessions1766300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'portal_sessions',
        columns: [
          { name: 'handle', type: 'varchar', length: '32', isPrimary: true },
          { name: 'account_id', type: 'int' },
          // The account's session generation at sign-in: a bump (access disabled, email changed) ends the session without touching this row.
          { name: 'generation', type: 'int' },
          { name: 'signed_in_at', type: 'datetime' },
          { name: 'last_activity_at', type: 'datetime' },
          { name: 'ended_at', type: 'datetime', isNullable: true },
          // signed_out, ended_by_patient, password_changed, expired
          { name: 'end_reason', type: 'varchar', length: '24', isNullable: true },
          { name: 'ip', type: 'varchar', length: '45', isNullable: true },
          { name: 'user_agent', type: 'varchar', length: '255', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'ix_portal_sessions_account', columnNames: ['account_id', 'ended_at'] })],
        foreignKeys: [
          {
            columnNames: ['account_id'],
            referencedTableName: 'portal_accounts',
            referencedColumnNames: ['patient_id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('portal_sessions');
  }
}
