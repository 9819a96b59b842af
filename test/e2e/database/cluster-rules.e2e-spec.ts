import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { testDatabaseKind } from '../../support/test-database';
import { startTestApp, TestApp } from '../../support/test-app';

/** Every file under a folder, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));

/** What a Galera cluster (several primaries, row-based replication) needs from the schema and the code. */
describe('rules for running on a MariaDB Galera cluster', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('gives every table, sessions and rate-limit counters included, a primary key', async () => {
    const tables: string[] =
      testDatabaseKind() === 'mysql'
        ? (
            await t.dataSource.query(
              "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
            )
          ).map((r: { name: string }) => r.name)
        : (await t.dataSource.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")).map(
            (r: { name: string }) => r.name,
          );
    expect(tables).toEqual(
      expect.arrayContaining(['staff_sessions', 'patient_sessions', 'throttle_counters', 'mail_outbox', 'migrations']),
    );
    const withoutKey: string[] = [];
    for (const table of tables) {
      const hasKey =
        testDatabaseKind() === 'mysql'
          ? (
              await t.dataSource.query(
                "SELECT 1 FROM information_schema.table_constraints WHERE table_schema = DATABASE() AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
                [table],
              )
            ).length > 0
          : (await t.dataSource.query(`PRAGMA table_info(${table})`)).some((column: { pk: number }) => column.pk > 0);
      if (!hasKey) withoutKey.push(table);
    }
    expect(withoutKey).toEqual([]);
  });

  it('never relies on node-local locks (LOCK TABLES, GET_LOCK) for correctness', () => {
    const root = join(__dirname, '..', '..', '..');
    const offenders = [...filesUnder(join(root, 'src')), ...filesUnder(join(root, 'migrations'))].filter((file) =>
      /\b(LOCK\s+TABLES?|GET_LOCK\s*\()/i.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
