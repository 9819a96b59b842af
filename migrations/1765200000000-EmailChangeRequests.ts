import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Pending email changes: a new address becomes the one on file only after a link sent to it
 * is opened, and (under the policy) after a second staff member approved it. Only hashes of
 * the link tokens are kept.
 */
export class EmailChangeRequests1765200000000 implements MigrationInterface {
  name = 'EmailChangeRequests1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'email_change_requests',
        columns: [
          // SQLite auto-increments only an INTEGER PRIMARY KEY.
          {
            name: 'id',
            type: q.connection.options.type === 'better-sqlite3' ? 'integer' : 'int',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'patient_id', type: 'int' },
          { name: 'old_email', type: 'varchar', length: '254', isNullable: true },
          { name: 'new_email', type: 'varchar', length: '254' },
          // awaiting_approval → awaiting_confirmation → confirmed; or frozen (reported by the old address), rejected, superseded
          { name: 'status', type: 'varchar', length: '24' },
          { name: 'source', type: 'varchar', length: '10' },
          { name: 'reason', type: 'varchar', length: '500' },
          { name: 'requested_by', type: 'int', isNullable: true },
          { name: 'requested_by_label', type: 'varchar', length: '254', isNullable: true },
          { name: 'decided_by', type: 'int', isNullable: true },
          { name: 'decided_by_label', type: 'varchar', length: '254', isNullable: true },
          { name: 'decided_at', type: 'datetime', isNullable: true },
          { name: 'verify_token_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'verify_expires_at', type: 'datetime', isNullable: true },
          { name: 'report_token_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'report_expires_at', type: 'datetime', isNullable: true },
          { name: 'created_at', type: 'datetime' },
          { name: 'updated_at', type: 'datetime' },
        ],
        indices: [
          new TableIndex({ name: 'ix_email_change_requests_patient', columnNames: ['patient_id', 'status'] }),
          new TableIndex({ name: 'ix_email_change_requests_status', columnNames: ['status', 'created_at'] }),
          new TableIndex({ name: 'uq_email_change_requests_verify', columnNames: ['verify_token_hash'], isUnique: true }),
          new TableIndex({ name: 'uq_email_change_requests_report', columnNames: ['report_token_hash'], isUnique: true }),
        ],
        foreignKeys: [
          { columnNames: ['patient_id'], referencedTableName: 'patients', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('email_change_requests');
  }
}
