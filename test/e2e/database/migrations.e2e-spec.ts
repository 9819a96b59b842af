import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../../src/database/data-source-options';
import { ActivationFunnelRepository } from '../../../src/patients/activation-funnel.repository';
import { APP_SCHEMA, MIGRATIONS } from '../../../src/app.schema';
import { createTestDatabase, TestDatabase } from '../../support/test-database';

/** TypeORM's own bookkeeping and SQLite's internal table. */
const NOT_APP_TABLES = ['migrations', 'sqlite_sequence'];

const TABLES = [
  'staff_users',
  'providers',
  'patients',
  'tags',
  'patient_tags',
  'appointments',
  'portal_accounts',
  'portal_tokens',
  'bulk_batches',
  'mail_outbox',
  'audit_events',
  'staff_sessions',
  'patient_sessions',
  'throttle_counters',
  'email_change_requests',
  'import_runs',
  'settings',
  'staff_passkeys',
  'staff_recovery_codes',
  'staff_totp',
  'portal_sessions',
  'portal_totp',
  'portal_recovery_codes',
  'portal_passkeys',
  'onboarding_list_generation',
  'reminder_policy',
  'portal_reminders',
  'representative_accounts',
  'patient_representatives',
  'daily_sweeps',
  'representative_sessions',
  'representative_totp',
  'representative_recovery_codes',
  'representative_passkeys',
  'activation_funnel',
  'activation_funnel_tags',
];

/** Types compared roughly: dialects spell them differently (int/integer, tinyint/boolean, varchar/text). */
const typeFamily = (type: string) => {
  const t = type.toLowerCase();
  if (/int|bool|decimal|numeric|real|double|float/.test(t)) return 'number';
  if (/date|time/.test(t)) return 'time';
  if (/blob|binary/.test(t)) return 'bytes';
  return 'text';
};

describe('migrations', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(database.config, APP_SCHEMA)).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  // Every table in this database (not only the listed ones), so a table missing from TABLES fails here.
  // Read from the catalogue, scoped to this database: TypeORM's getTables() walks every schema on a
  // MariaDB server, and met other test files' databases half-dropped ("reading 'COLLATION'" in CI).
  const tables = async (): Promise<string[]> => {
    const rows: Array<{ name: string }> =
      dataSource.options.type === 'better-sqlite3'
        ? await dataSource.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        : await dataSource.query('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()');
    return rows
      .map((row) => row.name)
      .filter((name) => !NOT_APP_TABLES.includes(name))
      .sort();
  };

  it('go up to the whole schema, down to nothing, and up again', async () => {
    await dataSource.runMigrations();
    expect(await tables()).toEqual([...TABLES].sort());
    for (let i = 0; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration();
    expect(await tables()).toEqual([]);
    await dataSource.runMigrations();
    expect(await tables()).toEqual([...TABLES].sort());
    expect(await dataSource.showMigrations()).toBe(false);
  });

  // Entities sit next to raw SQL: this keeps each one's columns and nullability the migrated schema's.
  it("match every entity's columns and nullability", async () => {
    await dataSource.runMigrations();
    const runner = dataSource.createQueryRunner();
    try {
      const drift: string[] = [];
      expect(dataSource.entityMetadatas.length).toBeGreaterThan(5);
      for (const entity of dataSource.entityMetadatas) {
        const table = await runner.getTable(entity.tableName);
        if (!table) {
          drift.push(`${entity.tableName}: no such table`);
          continue;
        }
        for (const column of entity.columns) {
          const actual = table.findColumnByName(column.databaseName);
          if (!actual) drift.push(`${entity.tableName}.${column.databaseName}: no such column`);
          else if (actual.isNullable !== column.isNullable)
            drift.push(
              `${entity.tableName}.${column.databaseName}: nullable ${actual.isNullable} in the schema, ${column.isNullable} in the entity`,
            );
          else if (typeFamily(actual.type) !== typeFamily(dataSource.driver.normalizeType(column)))
            drift.push(
              `${entity.tableName}.${column.databaseName}: ${actual.type} in the schema, ${dataSource.driver.normalizeType(column)} in the entity`,
            );
        }
      }
      expect(drift).toEqual([]);
    } finally {
      await runner.release();
    }
  });

  it('create the indexes the onboarding filters rely on', async () => {
    const runner = dataSource.createQueryRunner();
    try {
      const patients = await runner.getTable('patients');
      const accounts = await runner.getTable('portal_accounts');
      expect(patients!.indices.map((index) => index.name)).toEqual(
        expect.arrayContaining([
          'ix_patients_name',
          'ix_patients_first_name',
          'ix_patients_provider_name',
          'ix_patients_next_appt',
          'ix_patients_dob',
          'ix_patients_email',
          'ix_patients_phone_digits',
        ]),
      );
      expect(accounts!.indices.map((index) => index.name)).toEqual(
        expect.arrayContaining(['ix_portal_accounts_status', 'uq_portal_accounts_username_key']),
      );
      // Two practitioners may share a name (told apart by NPI): the name is indexed, not unique.
      const providers = await runner.getTable('providers');
      expect(providers!.findColumnByName('name')!.isUnique).toBe(false);
      expect(providers!.indices.filter((index) => index.isUnique && index.columnNames.includes('name'))).toEqual([]);
      expect(patients!.findColumnByName('deceased')).toBeDefined();
    } finally {
      await runner.release();
    }
  });

  it('look patients up by their folded email through an index (the shared-address rule, every page)', async () => {
    const lookup = "SELECT id, email FROM patients WHERE LOWER(TRIM(email)) IN ('a@example.test', 'b@example.test')";
    if (dataSource.options.type === 'better-sqlite3') {
      const plan = (await dataSource.query(`EXPLAIN QUERY PLAN ${lookup}`)) as Array<{ detail: string }>;
      expect(plan.map((step) => step.detail)).toEqual([expect.stringContaining('USING INDEX ix_patients_email_key')]);
    } else {
      // MySQL/MariaDB fold through the column's collation: the plain email index serves the unfolded form.
      const [step] = (await dataSource.query(
        "EXPLAIN SELECT id, email FROM patients WHERE email IN ('a@example.test', 'b@example.test')",
      )) as Array<{ possible_keys: string | null }>;
      expect(step.possible_keys).toContain('ix_patients_email');
    }
  });

  it("backfill the activation funnel's summary from the data already there, as the app's rebuild computes it", async () => {
    await dataSource.runMigrations();
    const at = '2026-11-03 09:00:00';
    await dataSource.query("INSERT INTO providers (name, active) VALUES ('Zz Backfill', 1)");
    const [{ id: provider }] = await dataSource.query("SELECT id FROM providers WHERE name = 'Zz Backfill'");
    await dataSource.query("INSERT INTO tags (name) VALUES ('Zz Backfill')");
    const [{ id: tag }] = await dataSource.query("SELECT id FROM tags WHERE name = 'Zz Backfill'");
    const patient = async (n: number, enabled: number, username: string | null) => {
      await dataSource.query(
        "INSERT INTO patients (first_name, last_name, date_of_birth, email, primary_provider_id, version, created_at, updated_at) VALUES ('B', ?, '1980-01-01', ?, ?, 1, ?, ?)",
        [`Zzbackfill${n}`, `b${n}@example.test`, provider, at, at],
      );
      const [{ id }] = await dataSource.query('SELECT MAX(id) AS id FROM patients');
      await dataSource.query(
        'INSERT INTO portal_accounts (patient_id, access_enabled, username, username_key, version, updated_at) VALUES (?, ?, ?, ?, 1, ?)',
        [id, enabled, username, username, at],
      );
      return Number(id);
    };
    const link = async (patientId: number, status: string, openedAt: string | null, usedAt: string | null) => {
      const hash = `backfill-${patientId}-${status}`.padEnd(64, '0');
      await dataSource.query(
        "INSERT INTO portal_tokens (patient_id, purpose, token_hash, sent_to, created_at, expires_at, opened_at, used_at, issued_by) VALUES (?, 'invite', ?, 'b@example.test', ?, '2027-01-01 00:00:00', ?, ?, 'staff')",
        [patientId, hash, at, openedAt, usedAt],
      );
      const [{ id }] = await dataSource.query('SELECT id FROM portal_tokens WHERE token_hash = ?', [hash]);
      await dataSource.query(
        "INSERT INTO mail_outbox (patient_id, portal_token_id, kind, to_address, subject, status, attempts, next_attempt_at, created_at) VALUES (?, ?, 'portal_invite', 'b@example.test', 'Invite', ?, 1, ?, ?)",
        [patientId, id, status, at, at],
      );
    };
    const setUp = await patient(1, 1, 'zz.backfill');
    await link(setUp, 'sent', '2026-11-04 09:00:00', '2026-11-05 21:00:00');
    const bounced = await patient(2, 1, null);
    await link(bounced, 'bounced', null, null);
    await patient(3, 0, null);
    await dataSource.query('INSERT INTO patient_tags (patient_id, tag_id) VALUES (?, ?)', [setUp, tag]);

    // The summary as the migration computes it over existing rows (undone with the migrations after it, run again)...
    const funnel = MIGRATIONS.findIndex((migration) => migration.name === 'ActivationFunnelSummary1768400000000');
    for (let i = funnel; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration();
    await dataSource.runMigrations();
    const summary = async () => ({
      rows: await dataSource.query(
        'SELECT patient_id, stage, span_ms, invite_month, delivered_emails FROM activation_funnel ORDER BY patient_id',
      ),
      tags: await dataSource.query('SELECT patient_id, tag_id, stage, span_ms FROM activation_funnel_tags ORDER BY patient_id'),
    });
    const migrated = await summary();
    expect(
      migrated.rows.map((row: Record<string, unknown>) => [Number(row.stage), row.span_ms === null ? null : Number(row.span_ms)]),
    ).toEqual([
      [5, 60 * 3_600_000],
      [2, null],
      [0, null],
    ]);
    expect(migrated.tags.map((row: Record<string, unknown>) => [Number(row.patient_id), Number(row.stage)])).toEqual([
      [setUp, 5],
    ]);
    // ...is the app's own rebuild (the repository's SQL).
    await new ActivationFunnelRepository().rebuild(dataSource);
    expect(await summary()).toEqual(migrated);
  });
});
