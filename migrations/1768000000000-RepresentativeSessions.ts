import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * portal_sessions for representatives' own accounts (issue 21): the same columns, keyed on
 * representative_accounts.id, so a representative's account page lists and ends their sessions
 * like a patient's. A separate table keeps each foreign key real (portal_sessions points at
 * portal_accounts).
 */
export class RepresentativeSessions1768000000000 implements MigrationInterface {
  name = 'RepresentativeSessions1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'representative_sessions',
        columns: [
          { name: 'handle', type: 'varchar', length: '32', isPrimary: true },
          { name: 'account_id', type: 'int' },
          { name: 'generation', type: 'int' },
          { name: 'signed_in_at', type: 'datetime' },
          { name: 'last_activity_at', type: 'datetime' },
          { name: 'ended_at', type: 'datetime', isNullable: true },
          { name: 'end_reason', type: 'varchar', length: '24', isNullable: true },
          { name: 'ip', type: 'varchar', length: '45', isNullable: true },
          { name: 'user_agent', type: 'varchar', length: '255', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'ix_representative_sessions_account', columnNames: ['account_id', 'ended_at'] })],
        foreignKeys: [
          {
            columnNames: ['account_id'],
            referencedTableName: 'representative_accounts',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('representative_sessions');
  }
}
