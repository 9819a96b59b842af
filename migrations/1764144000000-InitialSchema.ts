import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableForeignKey, TableIndex } from 'typeorm';

/** SQLite only auto-increments an INTEGER PRIMARY KEY (64-bit there); MySQL/MariaDB get int or bigint. */
let autoIncrementType = (mysqlType: 'int' | 'bigint') => mysqlType as string;
const id = (mysqlType: 'int' | 'bigint' = 'int'): TableColumnOptions => ({
  name: 'id',
  type: autoIncrementType(mysqlType),
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment',
});
const createdAt = (): TableColumnOptions => ({ name: 'created_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' });
const updatedAt = (): TableColumnOptions => ({ name: 'updated_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' });
const nullable = (name: string, type: string, length?: string): TableColumnOptions => ({ name, type, length, isNullable: true });
const flag = (name: string, fallback: 0 | 1 = 0): TableColumnOptions => ({ name, type: 'boolean', default: fallback });
const counter = (name: string): TableColumnOptions => ({ name, type: 'int', default: 0 });
const fk = (column: string, table: string, onDelete: 'CASCADE' | 'SET NULL') =>
  new TableForeignKey({ columnNames: [column], referencedTableName: table, referencedColumnNames: ['id'], onDelete });

/**
 * The whole schema of DESIGN.md. Written with the Table API so one file runs on
 * MySQL/MariaDB and SQLite; indexes are the ones the onboarding filters and the
 * outbox sender need (see ../shared/PERF-NOTES.md).
 */
export class InitialSchema1764144000000 implements MigrationInterface {
  name = 'InitialSchema1764144000000';

  async up(q: QueryRunner): Promise<void> {
    const sqlite = q.connection.options.type === 'better-sqlite3';
    autoIncrementType = (mysqlType) => (sqlite ? 'integer' : mysqlType);
    await q.createTable(
      new Table({
        name: 'staff_users',
        columns: [
          id(),
          // Stored lower-cased so "Admin@x" and "admin@x" are one account.
          { name: 'email', type: 'varchar', length: '254', isUnique: true },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'password_hash', type: 'varchar', length: '255' },
          { name: 'role', type: 'varchar', length: '10', default: "'staff'" },
          flag('disabled'),
          flag('must_change_password'),
          counter('failed_login_count'),
          nullable('locked_until', 'datetime'),
          nullable('last_login_at', 'datetime'),
          nullable('password_changed_at', 'datetime'),
          // Bumped to end every session of this user (password change, disable).
          counter('session_generation'),
          createdAt(),
          updatedAt(),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'providers',
        columns: [
          id(),
          { name: 'name', type: 'varchar', length: '100', isUnique: true },
          nullable('external_id', 'varchar', '64'),
          flag('active', 1),
          createdAt(),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'patients',
        columns: [
          id(),
          nullable('external_id', 'varchar', '64'),
          { name: 'first_name', type: 'varchar', length: '100' },
          { name: 'last_name', type: 'varchar', length: '100' },
          { name: 'date_of_birth', type: 'date' },
          nullable('email', 'varchar', '254'),
          nullable('phone', 'varchar', '32'),
          nullable('primary_provider_id', 'int'),
          // Kept in step with appointments (same transaction) so "appointment after a date" is an index range.
          nullable('next_appointment_at', 'datetime'),
          { name: 'version', type: 'int', default: 1 },
          createdAt(),
          updatedAt(),
        ],
        foreignKeys: [fk('primary_provider_id', 'providers', 'SET NULL')],
        indices: [
          new TableIndex({ name: 'uq_patients_external_id', columnNames: ['external_id'], isUnique: true }),
          // Name order is the default sort and the driver for most filters; id makes the keyset total.
          new TableIndex({ name: 'ix_patients_name', columnNames: ['last_name', 'first_name', 'id'] }),
          new TableIndex({ name: 'ix_patients_first_name', columnNames: ['first_name', 'last_name', 'id'] }),
          new TableIndex({
            name: 'ix_patients_provider_name',
            columnNames: ['primary_provider_id', 'last_name', 'first_name', 'id'],
          }),
          new TableIndex({ name: 'ix_patients_next_appt', columnNames: ['next_appointment_at', 'id'] }),
          new TableIndex({ name: 'ix_patients_dob', columnNames: ['date_of_birth', 'id'] }),
          new TableIndex({ name: 'ix_patients_email', columnNames: ['email'] }),
        ],
      }),
    );

    await q.createTable(
      new Table({ name: 'tags', columns: [id(), { name: 'name', type: 'varchar', length: '50', isUnique: true }, createdAt()] }),
    );

    await q.createTable(
      new Table({
        name: 'patient_tags',
        columns: [
          { name: 'patient_id', type: 'int', isPrimary: true },
          { name: 'tag_id', type: 'int', isPrimary: true },
        ],
        foreignKeys: [fk('patient_id', 'patients', 'CASCADE'), fk('tag_id', 'tags', 'CASCADE')],
        indices: [new TableIndex({ name: 'ix_patient_tags_tag', columnNames: ['tag_id', 'patient_id'] })],
      }),
    );

    await q.createTable(
      new Table({
        name: 'appointments',
        columns: [
          id(),
          nullable('external_id', 'varchar', '64'),
          { name: 'patient_id', type: 'int' },
          nullable('provider_id', 'int'),
          { name: 'starts_at', type: 'datetime' },
          createdAt(),
        ],
        foreignKeys: [fk('patient_id', 'patients', 'CASCADE'), fk('provider_id', 'providers', 'SET NULL')],
        indices: [
          new TableIndex({ name: 'ix_appointments_patient_start', columnNames: ['patient_id', 'starts_at'] }),
          new TableIndex({ name: 'ix_appointments_start', columnNames: ['starts_at'] }),
          new TableIndex({ name: 'uq_appointments_external_id', columnNames: ['external_id'], isUnique: true }),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'portal_accounts',
        columns: [
          // One account per patient, created with the patient (red until enabled).
          { name: 'patient_id', type: 'int', isPrimary: true },
          flag('access_enabled'),
          nullable('username', 'varchar', '64'),
          // NFKC + case-folded username: "jsmith", "JSmith" and full-width forms collide here.
          nullable('username_key', 'varchar', '64'),
          nullable('password_hash', 'varchar', '255'),
          nullable('enabled_at', 'datetime'),
          nullable('enabled_by_staff_id', 'int'),
          nullable('invited_at', 'datetime'),
          nullable('first_login_at', 'datetime'),
          nullable('last_login_at', 'datetime'),
          counter('failed_login_count'),
          nullable('locked_until', 'datetime'),
          // Bumped to end the patient's portal sessions (access disabled, email changed, password reset).
          counter('session_generation'),
          { name: 'version', type: 'int', default: 1 },
          updatedAt(),
        ],
        foreignKeys: [fk('patient_id', 'patients', 'CASCADE'), fk('enabled_by_staff_id', 'staff_users', 'SET NULL')],
        indices: [
          new TableIndex({ name: 'uq_portal_accounts_username_key', columnNames: ['username_key'], isUnique: true }),
          // Status filters and pager counts run on this table alone (PERF-NOTES: count on the narrowest table).
          new TableIndex({
            name: 'ix_portal_accounts_status',
            columnNames: ['access_enabled', 'first_login_at', 'invited_at', 'patient_id'],
          }),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'portal_tokens',
        columns: [
          id(),
          { name: 'patient_id', type: 'int' },
          { name: 'purpose', type: 'varchar', length: '10' },
          // SHA-256 (hex) of the 256-bit token; the raw token exists only in the email.
          { name: 'token_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'sent_to', type: 'varchar', length: '254' },
          nullable('created_by_staff_id', 'int'),
          createdAt(),
          { name: 'expires_at', type: 'datetime' },
          nullable('used_at', 'datetime'),
          nullable('revoked_at', 'datetime'),
          nullable('revoked_reason', 'varchar', '32'),
        ],
        foreignKeys: [fk('patient_id', 'patients', 'CASCADE'), fk('created_by_staff_id', 'staff_users', 'SET NULL')],
        indices: [new TableIndex({ name: 'ix_portal_tokens_patient', columnNames: ['patient_id', 'id'] })],
      }),
    );

    await q.createTable(
      new Table({
        name: 'bulk_batches',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'action', type: 'varchar', length: '20' },
          nullable('created_by_staff_id', 'int'),
          createdAt(),
          counter('requested_count'),
          counter('queued_count'),
          counter('skipped_count'),
          // JSON: skipped counts by reason, e.g. {"no_email":2,"not_enabled":3}.
          nullable('skipped_reasons', 'text'),
        ],
        foreignKeys: [fk('created_by_staff_id', 'staff_users', 'SET NULL')],
      }),
    );

    await q.createTable(
      new Table({
        name: 'mail_outbox',
        columns: [
          id('bigint'),
          nullable('batch_id', 'varchar', '36'),
          nullable('patient_id', 'int'),
          nullable('portal_token_id', 'int'),
          { name: 'kind', type: 'varchar', length: '32' },
          { name: 'to_address', type: 'varchar', length: '254' },
          { name: 'subject', type: 'varchar', length: '255' },
          // The rendered message (and so the raw link) lives here only until sent or finally failed.
          nullable('text_body', 'text'),
          nullable('html_body', 'text'),
          { name: 'status', type: 'varchar', length: '10', default: "'pending'" },
          counter('attempts'),
          { name: 'next_attempt_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' },
          nullable('claimed_by', 'varchar', '64'),
          nullable('claimed_until', 'datetime'),
          nullable('sent_at', 'datetime'),
          nullable('last_error', 'varchar', '500'),
          createdAt(),
        ],
        foreignKeys: [fk('patient_id', 'patients', 'SET NULL'), fk('portal_token_id', 'portal_tokens', 'SET NULL')],
        indices: [
          new TableIndex({ name: 'ix_mail_outbox_due', columnNames: ['status', 'next_attempt_at', 'id'] }),
          new TableIndex({ name: 'ix_mail_outbox_batch', columnNames: ['batch_id', 'status'] }),
          new TableIndex({ name: 'ix_mail_outbox_patient', columnNames: ['patient_id', 'id'] }),
          new TableIndex({ name: 'ix_mail_outbox_token', columnNames: ['portal_token_id'] }),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          id('bigint'),
          { name: 'occurred_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' },
          // staff | patient | system | import
          { name: 'actor_type', type: 'varchar', length: '10' },
          nullable('actor_id', 'int'),
          nullable('actor_label', 'varchar', '254'),
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'outcome', type: 'varchar', length: '16', default: "'success'" },
          nullable('patient_id', 'int'),
          nullable('batch_id', 'varchar', '36'),
          nullable('ip', 'varchar', '45'),
          nullable('user_agent', 'varchar', '255'),
          nullable('details', 'text'),
        ],
        // No foreign keys: the trail must outlive what it describes.
        indices: [
          new TableIndex({ name: 'ix_audit_patient', columnNames: ['patient_id', 'id'] }),
          new TableIndex({ name: 'ix_audit_actor', columnNames: ['actor_type', 'actor_id', 'id'] }),
          new TableIndex({ name: 'ix_audit_action', columnNames: ['action', 'id'] }),
          new TableIndex({ name: 'ix_audit_occurred', columnNames: ['occurred_at'] }),
          new TableIndex({ name: 'ix_audit_batch', columnNames: ['batch_id'] }),
        ],
      }),
    );

    // Shape required by connect-session-knex (created here, never by the store).
    for (const name of ['staff_sessions', 'patient_sessions']) {
      await q.createTable(
        new Table({
          name,
          columns: [
            { name: 'sid', type: 'varchar', length: '255', isPrimary: true },
            { name: 'sess', type: 'text' },
            { name: 'expired', type: 'datetime' },
          ],
          indices: [new TableIndex({ name: `ix_${name}_expired`, columnNames: ['expired'] })],
        }),
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'patient_sessions',
      'staff_sessions',
      'audit_events',
      'mail_outbox',
      'bulk_batches',
      'portal_tokens',
      'portal_accounts',
      'appointments',
      'patient_tags',
      'tags',
      'patients',
      'providers',
      'staff_users',
    ]) {
      await q.dropTable(table);
    }
  }
}
