import { DataSource } from 'typeorm';
import { AppConfig, ConfigError } from '../config/app-config';
import { enableCausalReads, pendingMigrations } from './cluster';
import { buildDataSourceOptions, type DatabaseSchema } from './data-source-options';
import { isSqliteManager } from './sql';
import { SqliteWriteQueue } from './sqlite-write-queue';

/**
 * Connects and applies pending migrations (MIGRATIONS_RUN=auto), or refuses to run on a schema
 * that is behind the code (skip); a connection failure becomes a one-line ConfigError.
 */
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
  // One connection for the whole app on SQLite: transactions and queries take turns (see the class).
  if (isSqliteManager(dataSource)) SqliteWriteQueue.install(dataSource);
  return dataSource;
}
