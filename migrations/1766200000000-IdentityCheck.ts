import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** Issue #16: wrong answers to the identity check before a password is set, counted per link. */
export class IdentityCheck1766200000000 implements MigrationInterface {
  name = 'IdentityCheck1766200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('portal_tokens', new TableColumn({ name: 'identity_failures', type: 'int', default: 0 }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('portal_tokens', 'identity_failures');
  }
}
