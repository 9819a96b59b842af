import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DataSource, QueryRunner } from 'typeorm';

/**
 * The TypeORM version whose better-sqlite3 driver this was read against (one shared "master"
 * query runner, `EntityManager.transaction` running on it). test/unit/sqlite-write-queue.spec.ts
 * fails when the installed version differs: re-read the driver, then move this pin.
 */
export const CHECKED_TYPEORM_VERSION = '1.1.1';

/** The installed TypeORM's version, read from its package.json (the package's exports map hides it from require). */
export function installedTypeormVersion(): string {
  const main = require.resolve('typeorm');
  return (JSON.parse(readFileSync(join(dirname(main), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Serialises the app's use of SQLite: one transaction at a time, and no query from elsewhere
 * in the middle of one.
 *
 * Why: TypeORM's better-sqlite3 driver has ONE connection and query runner for the whole app.
 * Two overlapping transactions would fail ("cannot start a transaction within a transaction"),
 * and — worse — a query from another request issued while a transaction is open would run
 * inside it: it would see uncommitted rows and be rolled back with it. So every transaction,
 * and every query outside one, waits for its turn in one queue; queries made by a running
 * transaction (tracked with AsyncLocalStorage) go straight through. SQLite has one writer
 * anyway; MySQL/MariaDB use a connection pool and need none of this.
 *
 * How: it wraps two methods of the live objects, `dataSource.manager.transaction` and the
 * shared runner's `query`. Both are TypeORM internals, hence the version pin above and the
 * check in `install` that the driver still hands out one shared runner.
 */
export class SqliteWriteQueue {
  private readonly insideTransaction = new AsyncLocalStorage<true>();
  private tail: Promise<unknown> = Promise.resolve();

  private constructor() {}

  static install(dataSource: DataSource): SqliteWriteQueue {
    const runner = dataSource.driver.createQueryRunner('master');
    // The whole design rests on this: if the driver ever hands out a runner per call, stop here, loudly.
    if (dataSource.driver.createQueryRunner('master') !== runner) {
      throw new Error(
        `SqliteWriteQueue: the better-sqlite3 driver no longer shares one query runner (TypeORM ${installedTypeormVersion()}, checked against ${CHECKED_TYPEORM_VERSION}).`,
      );
    }
    const queue = new SqliteWriteQueue();
    queue.wrapTransactions(dataSource);
    queue.wrapQueries(runner);
    return queue;
  }

  /** Runs `work` after everything queued before it has settled (whatever its outcome). */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private wrapTransactions(dataSource: DataSource): void {
    const manager = dataSource.manager;
    const transaction = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
    (manager as { transaction: unknown }).transaction = (...args: unknown[]) =>
      this.insideTransaction.getStore()
        ? transaction(...args)
        : this.inTurn(() => this.insideTransaction.run(true, () => transaction(...args)));
  }

  private wrapQueries(runner: QueryRunner): void {
    const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
    (runner as { query: unknown }).query = (...args: unknown[]) =>
      this.insideTransaction.getStore() ? query(...args) : this.inTurn(() => query(...args));
  }
}
