import { DataSource } from 'typeorm';
import { AppConfig, ConfigError } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';

/** Connects and applies pending migrations; a connection failure becomes a one-line ConfigError. */
export async function openDatabase(config: AppConfig): Promise<DataSource> {
  const dataSource = new DataSource(buildDataSourceOptions(config.database));
  try {
    await dataSource.initialize();
  } catch (error) {
    const where = config.database.kind === 'sqlite' ? config.database.file : config.database.display;
    const reason = (error as { code?: string; message?: string }).code ?? (error as Error).message;
    throw new ConfigError(config.database.kind === 'sqlite' ? 'DATA_DIR' : 'DATABASE_URL', `: cannot open the database at ${where} (${reason})`);
  }
  await dataSource.runMigrations({ transaction: 'each' });
  if (isSqlite(dataSource)) serializeTransactions(dataSource);
  return dataSource;
}

/**
 * TypeORM's better-sqlite3 driver has ONE connection and query runner: two overlapping
 * `dataSource.transaction()` calls (two requests, or a request and the mail sender) fail
 * with "cannot start a transaction within a transaction". On SQLite, top-level
 * transactions therefore wait for each other (SQLite has one writer anyway).
 */
function serializeTransactions(dataSource: DataSource): void {
  const manager = dataSource.manager;
  const original = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  (manager as { transaction: unknown }).transaction = (...args: unknown[]) => {
    const run = tail.then(() => original(...args));
    tail = run.catch(() => undefined);
    return run;
  };
}

export function isSqlite(dataSource: DataSource): boolean {
  return dataSource.options.type === 'better-sqlite3';
}
