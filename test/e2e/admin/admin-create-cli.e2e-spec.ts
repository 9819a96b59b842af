import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaffUser } from '../../../src/auth/entities/staff-user.entity';
import { announceRunningServer, databaseIdentity } from '../../../src/operations/running-servers';
import { runCliScript } from '../../support/cli';
import { startTestApp, testEnv, TestApp } from '../../support/test-app';

// Each case starts the CLI through ts-node: close to a minute of loading alone on a shared 2-core machine.
jest.setTimeout(400_000);

describe('npm run admin:create', () => {
  let t: TestApp;
  let forget: () => void;
  beforeAll(async () => {
    t = await startTestApp();
    // As main.ts does once it listens.
    forget = announceRunningServer(t.config, 3000);
  });
  afterAll(async () => {
    forget();
    await t.close();
  });

  it("refuses to write to a database other than the running server's, naming both, and writes nothing", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'ppo-elsewhere-'));
    try {
      const env = { ...testEnv(t.database), DATA_DIR: elsewhere, DATABASE_URL: '' };
      const result = await runCliScript('admin-create.ts', ['--email', 'lost@clinic.test', '--name', 'Lost Admin'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Refusing');
      expect(result.stderr).toContain(join(elsewhere, 'portal.sqlite'));
      expect(result.stderr).toContain('running server uses another database (');
      // Other servers of this machine (other test files) may be listed too; this one must be.
      expect(result.stderr).toContain(`pid ${process.pid} on port 3000: ${databaseIdentity(t.config.database)}`);
      expect(result.stdout).not.toContain('One-time password');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("creates the admin in the running server's database and says which database it wrote to", async () => {
    const result = await runCliScript(
      'admin-create.ts',
      ['--email', 'first@clinic.test', '--name', 'First Admin'],
      testEnv(t.database),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const where = t.database.config.kind === 'sqlite' ? `SQLite file ${t.database.config.file}` : t.database.config.display;
    expect(result.stdout).toContain(`Created admin first@clinic.test in ${where}.`);
    expect(result.stdout).toMatch(/One-time password \(shown only now[^)]*\): \S{20,}/);
    expect(await t.dataSource.getRepository(StaffUser).findOneBy({ email: 'first@clinic.test' })).toEqual(
      expect.objectContaining({ role: 'admin', mustChangePassword: true }),
    );
  });
});
