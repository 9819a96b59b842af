import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource } from 'typeorm';
import { AppConfig, ConfigError } from '../config/app-config';
import { enableCausalReads, pendingMigrations } from './cluster';
import { buildDataSourceOptions } from './data-source-options';

/**
 * Connects and applies pending migrations (MIGRATIONS_RUN=auto), or refuses to run on a schema
 * that is behind the code (skip); a connection failure becomes a one-line ConfigError.
 */
export async function openDatabase(config: AppConfig): Promise<DataSource> {
  const dataSource = new DataSource(buildDataSourceOptions(config.database));
  try {
    await dataSource.initialize();
  } catch (error) {
    const where = config.database.kind === 'sqlite' ? config.database.file : config.database.display;
    const reason = (error as { code?: string; message?: string }).code ?? (error as Error).message;
    throw new ConfigError(config.database.kind === 'sqlite' ? 'DATA_DIR' : 'DATABASE_URL', `: cannot open the database at ${where} (${reason})`);
  }
  if (config.migrationsRun === 'auto') {
    await dataSource.runMigrations({ transaction: 'each' });
  } else {
    const pending = await pendingMigrations(dataSource);
    if (pending.length) {
      await dataSource.destroy();
      throw new ConfigError(
        'MIGRATIONS_RUN',
        `is skip and the database schema is behind this version (${pending.length} pending: ${pending.join(', ')}); run \`npm run migration:run\` first`,
      );
    }
  }
  await enableCausalReads(dataSource);
  if (isSqlite(dataSource)) serializeSqliteAccess(dataSource);
  return dataSource;
}

/**
 * TypeORM's better-sqlite3 driver has ONE connection and query runner for the whole app.
 * Two overlapping transactions would fail ("cannot start a transaction within a
 * transaction"), and — worse — a query from another request issued while a transaction
 * is open would run inside it: it would see uncommitted rows and be rolled back with it.
 * So on SQLite every transaction, and every query outside one, takes its turn; queries
 * made by a running transaction (tracked with AsyncLocalStorage) go straight through.
 * SQLite has one writer anyway; MySQL/MariaDB use a connection pool and need none of this.
 */
function serializeSqliteAccess(dataSource: DataSource): void {
  const insideTransaction = new AsyncLocalStorage<true>();
  let tail: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };

  const manager = dataSource.manager;
  const transaction = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  (manager as { transaction: unknown }).transaction = (...args: unknown[]) =>
    insideTransaction.getStore() ? transaction(...args) : inTurn(() => insideTransaction.run(true, () => transaction(...args)));

  const runner = dataSource.driver.createQueryRunner('master');
  const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
  (runner as { query: unknown }).query = (...args: unknown[]) => (insideTransaction.getStore() ? query(...args) : inTurn(() => query(...args)));
}

export function isSqlite(dataSource: DataSource): boolean {
  return dataSource.options.type === 'better-sqlite3';
}
