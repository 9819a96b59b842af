import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * A representative's own optional second factor (issue 21): the portal_totp, portal_passkeys and
 * portal_recovery_codes columns, keyed on representative_accounts.id. Separate tables keep each
 * foreign key real (the patient ones point at portal_accounts), as representative_sessions does.
 * Also the representative's own language (BCP 47, null: the patient's, then the default).
 */
export class RepresentativeSecondFactor1768300000000 implements MigrationInterface {
  name = 'RepresentativeSecondFactor1768300000000';

  async up(q: QueryRunner): Promise<void> {
    const idType = q.connection.options.type === 'better-sqlite3' ? 'integer' : 'int';
    const id = { name: 'id', type: idType, isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const };
    const accountFk = {
      columnNames: ['account_id'],
      referencedTableName: 'representative_accounts',
      referencedColumnNames: ['id'],
      onDelete: 'CASCADE',
    };
    await q.createTable(
      new Table({
        name: 'representative_totp',
        columns: [
          { name: 'account_id', type: 'int', isPrimary: true },
          { name: 'secret_encrypted', type: 'varchar', length: '255' },
          { name: 'enabled_at', type: 'datetime', isNullable: true },
          { name: 'last_used_step', type: 'bigint', isNullable: true },
          { name: 'created_at', type: 'datetime' },
        ],
        foreignKeys: [accountFk],
      }),
    );
    await q.createTable(
      new Table({
        name: 'representative_recovery_codes',
        columns: [
          id,
          { name: 'account_id', type: 'int' },
          { name: 'code_hash', type: 'varchar', length: '64' },
          { name: 'used_at', type: 'datetime', isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'uq_representative_recovery_codes_hash',
            columnNames: ['account_id', 'code_hash'],
            isUnique: true,
          }),
        ],
        foreignKeys: [accountFk],
      }),
    );
    await q.createTable(
      new Table({
        name: 'representative_passkeys',
        columns: [
          id,
          { name: 'account_id', type: 'int' },
          { name: 'credential_id', type: 'varchar', length: '512' },
          { name: 'public_key', type: 'text' },
          { name: 'counter', type: 'bigint', default: 0 },
          { name: 'transports', type: 'varchar', length: '200', isNullable: true },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'created_at', type: 'datetime' },
          { name: 'last_used_at', type: 'datetime', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'uq_representative_passkeys_credential', columnNames: ['credential_id'], isUnique: true }),
          new TableIndex({ name: 'ix_representative_passkeys_account', columnNames: ['account_id', 'id'] }),
        ],
        foreignKeys: [accountFk],
      }),
    );
    await q.addColumn(
      'representative_accounts',
      new TableColumn({ name: 'language', type: 'varchar', length: '35', isNullable: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('representative_accounts', 'language');
    await q.dropTable('representative_passkeys');
    await q.dropTable('representative_recovery_codes');
    await q.dropTable('representative_totp');
  }
}
