import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/app-config';

const dataDir = () => mkdtempSync(join(tmpdir(), 'ppo-config-'));

describe('configuration from the environment', () => {
  it('defaults to an embedded SQLite file under DATA_DIR, port 3000 and the Demo Clinic', () => {
    const dir = dataDir();
    const config = loadConfig({ DATA_DIR: dir });
    expect(config.database).toEqual({ kind: 'sqlite', file: join(dir, 'portal.sqlite') });
    expect(config.port).toBe(3000);
    expect(config.publicBaseUrl).toBe('http://localhost:3000');
    expect(config.clinicName).toBe('Demo Clinic');
    expect(config.cookieSecure).toBe(false);
    expect(config.seedDemo).toBe(true);
    expect(config.staffIdleMinutes).toBe(15);
    expect(config.inviteTtlHours).toBe(168);
    expect(config.resetTtlHours).toBe(1);
    expect(config.clinicTimeZone).toBe('UTC');
  });

  it('reads CLINIC_TIME_ZONE as an IANA zone name', () => {
    expect(loadConfig({ DATA_DIR: dataDir(), CLINIC_TIME_ZONE: 'America/Chicago' }).clinicTimeZone).toBe('America/Chicago');
  });

  it('keeps a generated session secret in DATA_DIR so restarts keep sessions', () => {
    const dir = dataDir();
    expect(loadConfig({ DATA_DIR: dir }).sessionSecret).toBe(loadConfig({ DATA_DIR: dir }).sessionSecret);
  });

  it.each([
    [
      'mysql://app:s3cret@db.internal:3307/portal',
      { kind: 'mysql', host: 'db.internal', port: 3307, username: 'app', password: 's3cret', database: 'portal' },
    ],
    [
      'mariadb://root@127.0.0.1:3306/portal_test',
      { kind: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'portal_test' },
    ],
  ])('reads DATABASE_URL %s', (url, expected) => {
    const config = loadConfig({ DATA_DIR: dataDir(), DATABASE_URL: url });
    expect(config.database).toMatchObject(expected);
    expect(config.seedDemo).toBe(false);
    expect(JSON.stringify((config.database as { display: string }).display)).not.toContain('s3cret');
  });

  it.each([
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://x@y/z' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://root@127.0.0.1:3306/' }, 'DATABASE_URL'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL'],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, 'PUBLIC_BASE_URL'],
    [{ COOKIE_SECURE: 'maybe' }, 'COOKIE_SECURE'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET'],
    [{ CLINIC_TIME_ZONE: 'Eastern' }, 'CLINIC_TIME_ZONE'],
    [{ CLINIC_TIME_ZONE: 'America/Nowhere' }, 'CLINIC_TIME_ZONE'],
  ])('refuses %j with an error naming %s', (env, variable) => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(ConfigError);
    try {
      loadConfig({ DATA_DIR: dataDir(), ...env });
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as Error).message).toMatch(new RegExp(`^Configuration error: ${variable}`));
    }
  });

  it('requires SESSION_SECRET and MFA_ENCRYPTION_KEY in production and turns on Secure cookies', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), NODE_ENV: 'production' })).toThrow(/SESSION_SECRET is required/);
    const config = loadConfig({
      DATA_DIR: dataDir(),
      NODE_ENV: 'production',
      SESSION_SECRET: 'p'.repeat(40),
      MFA_ENCRYPTION_KEY: 'k'.repeat(40),
    });
    expect(config.cookieSecure).toBe(true);
    expect(config.seedDemo).toBe(false);
  });

  it('migrates at start by default, except in production on MySQL/MariaDB (a deployment step does it there)', () => {
    const secrets = { SESSION_SECRET: 'p'.repeat(40), MFA_ENCRYPTION_KEY: 'k'.repeat(40) };
    expect(loadConfig({ DATA_DIR: dataDir() }).migrationsRun).toBe('auto');
    expect(loadConfig({ DATA_DIR: dataDir(), DATABASE_URL: 'mariadb://root@127.0.0.1:3306/portal' }).migrationsRun).toBe('auto');
    expect(loadConfig({ DATA_DIR: dataDir(), NODE_ENV: 'production', ...secrets }).migrationsRun).toBe('auto');
    expect(
      loadConfig({
        DATA_DIR: dataDir(),
        NODE_ENV: 'production',
        DATABASE_URL: 'mariadb://root@127.0.0.1:3306/portal',
        ...secrets,
      }).migrationsRun,
    ).toBe('skip');
    expect(
      loadConfig({
        DATA_DIR: dataDir(),
        NODE_ENV: 'production',
        DATABASE_URL: 'mariadb://root@127.0.0.1:3306/portal',
        MIGRATIONS_RUN: 'auto',
        ...secrets,
      }).migrationsRun,
    ).toBe('auto');
    expect(loadConfig({ DATA_DIR: dataDir(), MIGRATIONS_RUN: 'SKIP' }).migrationsRun).toBe('skip');
    expect(() => loadConfig({ DATA_DIR: dataDir(), MIGRATIONS_RUN: 'never' })).toThrow(
      'Configuration error: MIGRATIONS_RUN must be auto or skip, got "never"',
    );
  });

  it('caps the rows of one import and takes an optional MRN identifier system (a URI)', () => {
    expect(loadConfig({ DATA_DIR: dataDir() })).toMatchObject({ importMaxRows: 200_000, importMrnSystem: null });
    expect(
      loadConfig({
        DATA_DIR: dataDir(),
        IMPORT_MAX_ROWS: '5000',
        IMPORT_MRN_SYSTEM: ' urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14 ',
      }),
    ).toMatchObject({ importMaxRows: 5000, importMrnSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14' });
    expect(() => loadConfig({ DATA_DIR: dataDir(), IMPORT_MAX_ROWS: '0' })).toThrow(
      /IMPORT_MAX_ROWS must be between 1 and 5000000/,
    );
    expect(() => loadConfig({ DATA_DIR: dataDir(), IMPORT_MRN_SYSTEM: 'our mrn' })).toThrow(/IMPORT_MRN_SYSTEM must be a URI/);
  });
});
