import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AuditContext } from '../../../src/audit/audit-context';
import { loadConfig } from '../../../src/config/app-config';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { announceRunningServer } from '../../../src/operations/running-servers';
import { backupSqlite, BackupError, checkCopy, restoreSqlite } from '../../../src/operations/sqlite-backup';
import { createManyPortalPatients } from '../../support/bulk-patients';
import { runCliScript } from '../../support/cli';
import { testDatabaseKind } from '../../support/test-database';
import { startTestApp, testEnv, TestApp } from '../../support/test-app';

const staff: AuditContext = { actorType: 'staff', actorId: null, actorLabel: 'test', ip: null, userAgent: null };

/** What must survive a restore: patients, portal accounts and the outbox, row for row. */
async function snapshot(t: TestApp) {
  return {
    patients: await t.dataSource.query('SELECT id, first_name, last_name, date_of_birth, email FROM patients ORDER BY id'),
    accounts: await t.dataSource.query(
      'SELECT patient_id, access_enabled, invited_at, username FROM portal_accounts ORDER BY patient_id',
    ),
    outbox: await t.dataSource.query('SELECT id, patient_id, status, to_address, subject, attempts FROM mail_outbox ORDER BY id'),
  };
}

const sqliteOnly = testDatabaseKind() === 'sqlite' ? describe : describe.skip;

sqliteOnly('backups of the embedded SQLite database (skipped on MariaDB: it uses mariadb-dump / mariabackup)', () => {
  let t: TestApp;
  let restoredDir: string;
  beforeAll(async () => {
    t = await startTestApp({ BACKUP_KEEP: '2' });
    restoredDir = mkdtempSync(join(tmpdir(), 'ppo-restored-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(restoredDir, { recursive: true, force: true });
  });

  it('copies consistently during a bulk invite, owner-only, keeps the newest BACKUP_KEEP, and restores into a fresh DATA_DIR with the same patients, accounts and outbox', async () => {
    const ids = await createManyPortalPatients(t, 3000, 'bk');
    const duringConfig = { ...t.config, backupDir: join(restoredDir, 'during'), backupKeep: 1000 };
    const worker = new Worker(join(__dirname, '../../support/backup-worker.ts'), {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      workerData: duringConfig,
    });
    const next = () =>
      new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    // Once the worker has made its first copy, invite while it keeps copying.
    expect(await next()).toBe('copying');
    const copiesMade = next() as Promise<string[]>;
    const inviting = t.app.get(InvitationsService).sendInvites(ids, staff, { bulk: true });
    const { invites } = await inviting;
    expect(invites).toBe(3000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.postMessage('stop');
    const copies = await copiesMade;
    await worker.terminate();
    const outboxCounts = new Set<number>();
    // Each is a snapshot between two commits: the whole batch (outbox rows and accounts' invited_at) or none of it.
    for (const file of copies) {
      const copy = new Database(file, { readonly: true });
      try {
        const { outbox } = copy.prepare('SELECT COUNT(*) AS outbox FROM mail_outbox').get() as { outbox: number };
        const { invited } = copy
          .prepare('SELECT COUNT(*) AS invited FROM portal_accounts WHERE invited_at IS NOT NULL')
          .get() as { invited: number };
        const { patients } = copy.prepare('SELECT COUNT(*) AS patients FROM patients').get() as { patients: number };
        expect({ patients, consistent: [0, 3000].includes(outbox) && invited === outbox }).toEqual({
          patients: 3000,
          consistent: true,
        });
        outboxCounts.add(outbox);
      } finally {
        copy.close();
      }
    }
    // Copies from before and after the commit: the invite really ran while copies were being made.
    expect([...outboxCounts].sort()).toEqual([0, 3000]);
    const during = await backupSqlite(t.config, new Date(Date.now() - 2000));

    const first = await backupSqlite(t.config, new Date(Date.now() - 1000));
    const latest = await backupSqlite(t.config);
    expect(latest.file).toMatch(/portal-\d{8}-\d{6}-\d{3}Z\.sqlite$/);
    expect(statSync(latest.file).mode & 0o777).toBe(0o600);
    expect(latest.check.patients).toBe(3000);
    // BACKUP_KEEP=2: the mid-invite copy went.
    expect(
      readdirSync(t.config.backupDir)
        .filter((name) => name.endsWith('.sqlite'))
        .sort(),
    ).toEqual([first.file, latest.file].map((file) => file.split('/').pop()).sort());
    expect(latest.removed).toEqual([during.file]);

    const freshConfig = loadConfig(
      testEnv({
        url: '',
        config: { kind: 'sqlite', file: join(restoredDir, 'portal.sqlite') },
        dataDir: restoredDir,
        drop: async () => undefined,
      }),
    );
    const { replaced } = restoreSqlite(freshConfig, latest.file);
    expect(replaced).toEqual([]);
    const restored = await startTestApp(
      {},
      {
        url: '',
        config: { kind: 'sqlite', file: join(restoredDir, 'portal.sqlite') },
        dataDir: restoredDir,
        drop: async () => undefined,
      },
    );
    try {
      const expected = await snapshot(t);
      expect(expected.outbox).toHaveLength(3000);
      expect(await snapshot(restored)).toEqual(expected);
    } finally {
      await restored.app.close();
    }
  });

  it('refuses to restore while the app runs on the target, or a copy that fails its checks — and changes nothing', async () => {
    const { file } = await backupSqlite(t.config);
    // t's own database: mark it as served, as main.ts does.
    const forget = announceRunningServer(t.config, 3000);
    try {
      expect(() => restoreSqlite(t.config, file)).toThrow(/The app is running on .*: stop it first/);
    } finally {
      forget();
    }
    const garbage = join(restoredDir, 'not-a-backup.sqlite');
    writeFileSync(garbage, 'this is not a database '.repeat(200));
    expect(() => checkCopy(garbage)).toThrow(BackupError);
    const before = statSync(join(restoredDir, 'portal.sqlite')).mtimeMs;
    expect(() =>
      restoreSqlite(
        loadConfig(
          testEnv({
            url: '',
            config: { kind: 'sqlite', file: join(restoredDir, 'portal.sqlite') },
            dataDir: restoredDir,
            drop: async () => undefined,
          }),
        ),
        garbage,
      ),
    ).toThrow(/not (a readable )?(an )?SQLite database/);
    expect(statSync(join(restoredDir, 'portal.sqlite')).mtimeMs).toBe(before);
  });

  it('npm run restore refuses with one clear line while the server runs', async () => {
    const { file } = await backupSqlite(t.config);
    const forget = announceRunningServer(t.config, 3000);
    try {
      const result = await runCliScript('restore.ts', [file], testEnv(t.database));
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toMatch(/^The app is running on .*portal\.sqlite \(pid \d+\): stop it first, then restore\.$/);
    } finally {
      forget();
    }
  });
});

it('npm run backup and restore on MySQL/MariaDB point to mariadb-dump / mariabackup instead, touching nothing', async () => {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'ppo-mariadb-')),
    DATABASE_URL: 'mariadb://root@127.0.0.1:3306/portal',
  });
  try {
    await expect(backupSqlite(config)).rejects.toThrow(/mariadb-dump --single-transaction/);
    expect(() => restoreSqlite(config, '/nonexistent.sqlite')).toThrow(/mariabackup/);
  } finally {
    rmSync(config.dataDir, { recursive: true, force: true });
  }
});
