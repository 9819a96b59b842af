import { DataSource, EntityManager } from 'typeorm';
import {
  CONFLICT_ATTEMPTS,
  observeConflictRetries,
  runInTransaction,
  withConflictRetry,
} from '../../../src/database/transactions';
import { testDatabaseKind } from '../../support/test-database';
import { startTestApp, TestApp } from '../../support/test-app';

/** What MySQL/MariaDB (and Galera's certification) answer for a deadlock, as TypeORM wraps it. */
const deadlock = () =>
  Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), {
    errno: 1213,
    code: 'ER_LOCK_DEADLOCK',
  });

const hits = async (db: DataSource, key: string) =>
  Number((await db.query('SELECT hits FROM throttle_counters WHERE throttle_key = ?', [key]))[0].hits);
const lockRow = (tx: EntityManager, key: string) =>
  tx.query(`SELECT hits FROM throttle_counters WHERE throttle_key = ?${testDatabaseKind() === 'mysql' ? ' FOR UPDATE' : ''}`, [
    key,
  ]);
const bump = (tx: EntityManager, key: string) =>
  tx.query('UPDATE throttle_counters SET hits = hits + 1 WHERE throttle_key = ?', [key]);

describe('write transactions retried on a conflict (deadlock, Galera certification failure)', () => {
  let t: TestApp;
  let retries: number[];
  beforeAll(async () => {
    t = await startTestApp();
    await t.dataSource.query(
      "INSERT INTO throttle_counters (throttle_key, window_start, window_end, hits) VALUES ('a', 0, 0, 0), ('b', 0, 0, 0), ('c', 0, 0, 0)",
    );
  });
  beforeEach(() => {
    retries = [];
    observeConflictRetries((attempt) => retries.push(attempt));
  });
  afterAll(async () => {
    observeConflictRetries(null);
    await t.close();
  });

  it('runs a transaction that lost a conflict again, and its writes land once', async () => {
    let attempts = 0;
    const result = await runInTransaction(t.dataSource, async (tx) => {
      attempts++;
      await bump(tx, 'c');
      // The first attempt's write is rolled back with it.
      if (attempts === 1) throw deadlock();
      return 'done';
    });
    expect(result).toBe('done');
    expect(attempts).toBe(2);
    expect(retries).toEqual([1]);
    expect(await hits(t.dataSource, 'c')).toBe(1);
  });

  it('gives up after a bounded number of attempts, leaving nothing behind', async () => {
    let attempts = 0;
    await expect(
      runInTransaction(t.dataSource, async (tx) => {
        attempts++;
        await bump(tx, 'c');
        throw deadlock();
      }),
    ).rejects.toMatchObject({ errno: 1213 });
    expect(attempts).toBe(CONFLICT_ATTEMPTS);
    expect(await hits(t.dataSource, 'c')).toBe(1);
  });

  it('does not retry other errors, nor a transaction nested in another (the outer one retries)', async () => {
    let attempts = 0;
    await expect(
      withConflictRetry(async () => {
        attempts++;
        throw Object.assign(new Error('Duplicate entry'), { errno: 1062 });
      }),
    ).rejects.toThrow('Duplicate entry');
    expect(attempts).toBe(1);

    let inner = 0;
    let outer = 0;
    await runInTransaction(t.dataSource, async (tx) => {
      outer++;
      await runInTransaction(tx, async () => {
        inner++;
        if (outer === 1) throw deadlock();
      });
    });
    expect({ outer, inner }).toEqual({ outer: 2, inner: 2 });
  });

  const mysqlOnly = testDatabaseKind() === 'mysql' ? it : it.skip;
  mysqlOnly(
    'survives a real deadlock: two connections locking two rows in opposite order both commit, each once (skipped on SQLite: one writer, no row locks)',
    async () => {
      const before = { a: await hits(t.dataSource, 'a'), b: await hits(t.dataSource, 'b') };
      let firstLocks = 0;
      let bothLocked!: () => void;
      const barrier = new Promise<void>((resolve) => (bothLocked = resolve));
      const attempts = { ab: 0, ba: 0 };
      const transfer = (first: string, second: string, name: 'ab' | 'ba') =>
        runInTransaction(t.dataSource, async (tx) => {
          attempts[name]++;
          await lockRow(tx, first);
          if (++firstLocks === 2) bothLocked();
          // Each holds its first row and then asks for the other's: InnoDB must kill one of them.
          await barrier;
          await lockRow(tx, second);
          await bump(tx, first);
          await bump(tx, second);
        });
      await Promise.all([transfer('a', 'b', 'ab'), transfer('b', 'a', 'ba')]);
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(attempts.ab + attempts.ba).toBe(2 + retries.length);
      // Two transactions, each adding 1 to both rows: the victim's first attempt left nothing.
      expect(await hits(t.dataSource, 'a')).toBe(before.a + 2);
      expect(await hits(t.dataSource, 'b')).toBe(before.b + 2);
    },
  );
});
