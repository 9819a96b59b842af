import { DataSource } from 'typeorm';
import { AppConfig, ConfigError } from '../config/app-config';
import { buildDataSourceOptions, type DatabaseSchema } from './data-source-options';
import { isSqliteManager } from './sql';
import { SqliteWriteQueue } from './sqlite-write-queue';

/** Connects and applies pending migrations; a connection failure becomes a one-line ConfigError. */
export async function openDatabase(config: AppConfig, schema: DatabaseSchema): Promise<DataSource> {
  const dataSource = new DataSource(buildDataSourceOptions(config.database, schema));
  try {
    await dataSource.initialize();
  } catch (error) {
    const where = config.database.kind === 'sqlite' ? config.database.file : config.database.display;
    const reason = (error as { code?: string; message?: string }).code ?? (error as Error).message;
    throw new ConfigError(
      config.database.kind === 'sqlite' ? 'DATA_DIR' : 'DATABASE_URL',
      `: cannot open the database at ${where} (${reason})`,
    );
  }
  await dataSource.runMigrations({ transaction: 'each' });
  // One connection for the whole app on SQLite: transactions and queries take turns (see the class).
  if (isSqliteManager(dataSource)) SqliteWriteQueue.install(dataSource);
  return dataSource;
}
