import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Authorised representatives (issue 16): a representative's own portal account
 * (representative_accounts, one per person, found by their address), the patients they may act
 * for (patient_representatives) and the link that invites them (portal_tokens gains the account
 * it sets up). daily_sweeps lets one instance of several claim a day's age-out sweep.
 */
export class Representatives1766100000000 implements MigrationInterface {
  name = 'Representatives1766100000000';

  async up(q: QueryRunner): Promise<void> {
    // SQLite auto-increments only an INTEGER PRIMARY KEY.
    const idType = q.connection.options.type === 'better-sqlite3' ? 'integer' : 'int';
    const id = { name: 'id', type: idType, isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const };
    await q.createTable(
      new Table({
        name: 'representative_accounts',
        columns: [
          id,
          // Trimmed and lower-cased: one account per address, however staff typed it.
          { name: 'email_key', type: 'varchar', length: '254' },
          { name: 'email', type: 'varchar', length: '254' },
          { name: 'full_name', type: 'varchar', length: '200' },
          { name: 'username', type: 'varchar', length: '64', isNullable: true },
          { name: 'username_key', type: 'varchar', length: '64', isNullable: true },
          { name: 'password_hash', type: 'varchar', length: '255', isNullable: true },
          { name: 'invited_at', type: 'datetime', isNullable: true },
          { name: 'first_login_at', type: 'datetime', isNullable: true },
          { name: 'last_login_at', type: 'datetime', isNullable: true },
          { name: 'failed_login_count', type: 'int', default: 0 },
          { name: 'locked_until', type: 'datetime', isNullable: true },
          { name: 'session_generation', type: 'int', default: 0 },
          { name: 'created_at', type: 'datetime' },
          { name: 'updated_at', type: 'datetime' },
        ],
        indices: [
          new TableIndex({ name: 'uq_representative_accounts_email', columnNames: ['email_key'], isUnique: true }),
          new TableIndex({ name: 'uq_representative_accounts_username', columnNames: ['username_key'], isUnique: true }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'patient_representatives',
        columns: [
          id,
          { name: 'patient_id', type: 'int' },
          { name: 'account_id', type: 'int' },
          { name: 'full_name', type: 'varchar', length: '200' },
          { name: 'relationship', type: 'varchar', length: '32' },
          { name: 'email', type: 'varchar', length: '254' },
          { name: 'email_key', type: 'varchar', length: '254' },
          { name: 'phone', type: 'varchar', length: '40', isNullable: true },
          { name: 'basis', type: 'varchar', length: '500' },
          // Clinic calendar days, YYYY-MM-DD (the end day is the last day of access).
          { name: 'starts_on', type: 'varchar', length: '10' },
          { name: 'ends_on', type: 'varchar', length: '10', isNullable: true },
          { name: 'reason', type: 'varchar', length: '500' },
          { name: 'created_by_staff_id', type: 'int', isNullable: true },
          { name: 'created_at', type: 'datetime' },
          { name: 'updated_at', type: 'datetime' },
          // Set once, when access ends: revoked, end_date, access_disabled, age_of_majority.
          { name: 'ended_at', type: 'datetime', isNullable: true },
          { name: 'ended_reason', type: 'varchar', length: '32', isNullable: true },
          { name: 'version', type: 'int', default: 1 },
        ],
        indices: [
          new TableIndex({ name: 'ix_patient_representatives_patient', columnNames: ['patient_id', 'ended_at'] }),
          new TableIndex({ name: 'ix_patient_representatives_account', columnNames: ['account_id', 'ended_at'] }),
          new TableIndex({ name: 'ix_patient_representatives_email', columnNames: ['email_key'] }),
        ],
        foreignKeys: [
          { columnNames: ['patient_id'], referencedTableName: 'patients', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
          { columnNames: ['account_id'], referencedTableName: 'representative_accounts', referencedColumnNames: ['id'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'daily_sweeps',
        columns: [
          { name: 'name', type: 'varchar', length: '40', isPrimary: true },
          { name: 'day', type: 'varchar', length: '10', isPrimary: true },
          { name: 'claimed_at', type: 'datetime' },
        ],
      }),
    );
    await q.addColumn('portal_tokens', new TableColumn({ name: 'representative_account_id', type: 'int', isNullable: true }));
    await q.createIndex(
      'portal_tokens',
      new TableIndex({ name: 'ix_portal_tokens_representative', columnNames: ['representative_account_id'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('portal_tokens', 'ix_portal_tokens_representative');
    await q.dropColumn('portal_tokens', 'representative_account_id');
    await q.dropTable('daily_sweeps');
    await q.dropTable('patient_representatives');
    await q.dropTable('representative_accounts');
  }
}
