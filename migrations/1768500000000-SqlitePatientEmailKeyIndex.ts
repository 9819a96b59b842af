import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The shared-address rule looks patients up by their folded email (`LOWER(TRIM(email))`) on every onboarding page
 * and invite. MySQL/MariaDB compare that way through ix_patients_email (case-insensitive, pad-space collation);
 * SQLite compares bytes, so without an index on the expression it scanned every patient (~10 ms a page at 100k).
 * An expression index is SQLite-only; the other databases need nothing.
 */
export class SqlitePatientEmailKeyIndex1768500000000 implements MigrationInterface {
  name = 'SqlitePatientEmailKeyIndex1768500000000';

  async up(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'better-sqlite3')
      await q.query('CREATE INDEX ix_patients_email_key ON patients (LOWER(TRIM(email)))');
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'better-sqlite3') await q.query('DROP INDEX ix_patients_email_key');
  }
}
