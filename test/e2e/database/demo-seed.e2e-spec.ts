import { DataSource } from 'typeorm';
import { APP_SCHEMA } from '../../../src/app.schema';
import { buildDataSourceOptions } from '../../../src/database/data-source-options';
import { seedDemoData } from '../../../src/demo/demo-seeder';
import { ActivationReportRepository } from '../../../src/activation/activation-report.repository';
import { ActivationReportService } from '../../../src/activation/activation-report.service';
import { portalStatusSql } from '../../../src/portal-access/portal-status';
import { createTestDatabase, TestDatabase } from '../../support/test-database';

async function freshDatabase(): Promise<{ database: TestDatabase; dataSource: DataSource }> {
  const database = await createTestDatabase();
  const dataSource = await new DataSource(buildDataSourceOptions(database.config, APP_SCHEMA)).initialize();
  await dataSource.runMigrations();
  return { database, dataSource };
}

const snapshot = (dataSource: DataSource) =>
  dataSource.query(
    'SELECT p.id, p.first_name, p.last_name, p.date_of_birth, p.email, p.address_line1, p.address_postal_code, p.primary_provider_id, pa.access_enabled, pa.username FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id ORDER BY p.id',
  );

describe('the demo seeder', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  let a: { database: TestDatabase; dataSource: DataSource };
  let b: { database: TestDatabase; dataSource: DataSource };
  beforeAll(async () => {
    [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
    await seedDemoData(a.dataSource, { patients: 1500, seed: 7, now });
    await seedDemoData(b.dataSource, { patients: 1500, seed: 7, now });
  });
  afterAll(async () => {
    for (const { database, dataSource } of [a, b]) {
      await dataSource.destroy();
      await database.drop();
    }
  });

  it('creates the requested number of patients, each with a portal account', async () => {
    const [{ patients }] = await a.dataSource.query('SELECT COUNT(*) AS patients FROM patients');
    const [{ accounts }] = await a.dataSource.query('SELECT COUNT(*) AS accounts FROM portal_accounts');
    expect(Number(patients)).toBe(1500);
    expect(Number(accounts)).toBe(1500);
  });

  it('produces all four portal statuses, patients without email, tags, providers and future appointments', async () => {
    const statuses = await a.dataSource.query(
      `SELECT ${portalStatusSql('pa')} AS status, COUNT(*) AS n FROM portal_accounts pa GROUP BY ${portalStatusSql('pa')}`,
    );
    expect(statuses.map((row: { status: string }) => row.status).sort()).toEqual(['gray', 'green', 'orange', 'red']);
    const [{ noEmail }] = await a.dataSource.query('SELECT COUNT(*) AS noEmail FROM patients WHERE email IS NULL');
    expect(Number(noEmail)).toBeGreaterThan(50);
    const [{ invitedWithoutEmail }] = await a.dataSource.query(
      'SELECT COUNT(*) AS invitedWithoutEmail FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.email IS NULL AND pa.invited_at IS NOT NULL',
    );
    expect(Number(invitedWithoutEmail)).toBe(0);
    const [{ tagged }] = await a.dataSource.query('SELECT COUNT(DISTINCT patient_id) AS tagged FROM patient_tags');
    expect(Number(tagged)).toBeGreaterThan(500);
    const [{ next }] = await a.dataSource.query('SELECT COUNT(*) AS next FROM patients WHERE next_appointment_at IS NOT NULL');
    expect(Number(next)).toBeGreaterThan(300);
  });

  it('gives every invited patient the emailed link the report counts, so the activation report agrees with the list', async () => {
    const [counts] = await a.dataSource.query(
      `SELECT SUM(CASE WHEN pa.invited_at IS NOT NULL THEN 1 ELSE 0 END) AS invited,
              SUM(CASE WHEN pa.username IS NOT NULL THEN 1 ELSE 0 END) AS setUp,
              SUM(CASE WHEN pa.first_login_at IS NOT NULL THEN 1 ELSE 0 END) AS signedIn,
              SUM(CASE WHEN pa.access_enabled = 1 THEN 1 ELSE 0 END) AS enabled
         FROM portal_accounts pa`,
    );
    // Every invited patient has one sent email with its link; every set-up patient's link was used before the first sign-in.
    const [links] = await a.dataSource.query(
      `SELECT COUNT(*) AS n, SUM(CASE WHEN o.status = 'sent' THEN 1 ELSE 0 END) AS sent,
              SUM(CASE WHEN t.used_at IS NOT NULL AND t.used_at <= pa.first_login_at AND t.created_at <= t.used_at THEN 1 ELSE 0 END) AS usedInOrder
         FROM portal_tokens t JOIN mail_outbox o ON o.portal_token_id = t.id JOIN portal_accounts pa ON pa.patient_id = t.patient_id`,
    );
    expect(Number(links.n)).toBe(Number(counts.invited));
    expect(Number(links.sent)).toBe(Number(counts.invited));
    expect(Number(links.usedInOrder)).toBe(Number(counts.setUp));
    const report = await new ActivationReportService(new ActivationReportRepository(a.dataSource)).report('provider');
    const total = Object.fromEntries(report.total.cells.map((cell) => [cell.stage, cell.count]));
    expect(total).toMatchObject({
      enabled: Number(counts.enabled),
      invited: Number(counts.invited),
      delivered: Number(counts.invited),
      set_up: Number(counts.setUp),
      signed_in: Number(counts.signedIn),
    });
    expect(total.opened).toBeGreaterThanOrEqual(Number(counts.setUp));
    expect(total.opened).toBeLessThan(Number(counts.invited));
  });

  it('gives about nine patients in ten a postal address a letter can be posted to, some without email among them', async () => {
    const [{ mailable }] = await a.dataSource.query(
      'SELECT COUNT(*) AS mailable FROM patients WHERE address_line1 IS NOT NULL AND address_city IS NOT NULL AND address_postal_code IS NOT NULL',
    );
    expect(Number(mailable)).toBeGreaterThan(1250);
    expect(Number(mailable)).toBeLessThan(1450);
    const [{ lettersOnly }] = await a.dataSource.query(
      'SELECT COUNT(*) AS lettersOnly FROM patients WHERE email IS NULL AND address_line1 IS NOT NULL',
    );
    expect(Number(lettersOnly)).toBeGreaterThan(30);
    const [sample] = await a.dataSource.query(
      'SELECT address_postal_code, address_country FROM patients WHERE address_line1 IS NOT NULL LIMIT 1',
    );
    expect(sample.address_postal_code).toMatch(/^\d{5}$/);
    expect(sample.address_country).toBe('United States');
  });

  it('keeps next_appointment_at equal to the earliest future appointment', async () => {
    const rows = await a.dataSource.query(
      `SELECT p.id, p.next_appointment_at AS stored, (SELECT MIN(ap.starts_at) FROM appointments ap WHERE ap.patient_id = p.id AND ap.starts_at > ?) AS computed FROM patients p`,
      ['2026-11-26 12:00:00'],
    );
    const mismatches = rows.filter(
      (row: { stored: unknown; computed: unknown }) => String(row.stored ?? '') !== String(row.computed ?? ''),
    );
    expect(mismatches).toEqual([]);
  });

  it('is deterministic for a given seed', async () => {
    expect(await snapshot(b.dataSource)).toEqual(await snapshot(a.dataSource));
  });
});
