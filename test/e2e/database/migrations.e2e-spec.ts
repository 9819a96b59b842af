import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../../src/database/data-source-options';
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
});
