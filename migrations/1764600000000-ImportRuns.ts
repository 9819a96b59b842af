import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

/**
 * One row per file import (web page or CLI): who, which file, what mode, the counts and
 * the rejected rows. The result page and its progress poll read it, so any app instance
 * behind a load balancer can answer.
 */
export class ImportRuns1764600000000 implements MigrationInterface {
  name = 'ImportRuns1764600000000';

  async up(q: QueryRunner): Promise<void> {
    // MariaDB's TEXT holds 64 KB; a file's list of rejected rows can be longer (SQLite's TEXT has no such limit).
    const longText = q.connection.options.type === 'better-sqlite3' ? 'text' : 'longtext';
    await q.createTable(
      new Table({
        name: 'import_runs',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'file_name', type: 'varchar', length: '255' },
          { name: 'format', type: 'varchar', length: '16', isNullable: true },
          // dry_run | apply | apply_valid
          { name: 'mode', type: 'varchar', length: '16' },
          // running | dry_run | applied | rejected | failed
          { name: 'status', type: 'varchar', length: '16', default: "'running'" },
          { name: 'created_by_staff_id', type: 'int', isNullable: true },
          { name: 'actor_label', type: 'varchar', length: '254', isNullable: true },
          { name: 'counts', type: 'text', isNullable: true },
          { name: 'problems', type: longText, isNullable: true },
          { name: 'message', type: 'varchar', length: '500', isNullable: true },
          { name: 'created_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' },
          { name: 'finished_at', type: 'datetime', isNullable: true },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['created_by_staff_id'],
            referencedTableName: 'staff_users',
            referencedColumnNames: ['id'],
            onDelete: 'SET NULL',
          }),
        ],
        indices: [new TableIndex({ name: 'ix_import_runs_created', columnNames: ['created_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('import_runs');
  }
}
