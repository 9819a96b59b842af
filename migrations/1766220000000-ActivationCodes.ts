import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Issue #18: links without an email (in-clinic codes, printed letters) also carry a short typed
 * code; only its SHA-256 is kept, unique so a typed code finds its one link.
 */
export class ActivationCodes1766220000000 implements MigrationInterface {
  name = 'ActivationCodes1766220000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('portal_tokens', new TableColumn({ name: 'code_hash', type: 'varchar', length: '64', isNullable: true }));
    await q.createIndex(
      'portal_tokens',
      new TableIndex({ name: 'ix_portal_tokens_code_hash', columnNames: ['code_hash'], isUnique: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('portal_tokens', 'ix_portal_tokens_code_hash');
    await q.dropColumn('portal_tokens', 'code_hash');
  }
}
