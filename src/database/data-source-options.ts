import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config';
import { ENTITIES, MIGRATIONS } from './entities';
import { SnakeNamingStrategy } from './snake-naming.strategy';

/** The one SQLite/MySQL switch: every connection in the app, the CLI and the tests is built here. */
export function buildDataSourceOptions(database: DatabaseConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    namingStrategy: new SnakeNamingStrategy(),
    // The schema comes only from migrations.
    synchronize: false,
    migrationsRun: false,
    logging: ['error'] as ('error')[],
  };
  if (database.kind === 'sqlite') {
    mkdirSync(dirname(database.file), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: database.file,
      // WAL lets the session store's second connection read while the app writes.
      enableWAL: true,
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('busy_timeout = 5000');
        db.pragma('foreign_keys = ON');
      },
    };
  }
  return {
    ...common,
    // mariadb:// selects TypeORM's MariaDB dialect (MariaDB 10.11 has no FOR SHARE).
    type: database.kind,
    host: database.host,
    port: database.port,
    username: database.username,
    password: database.password,
    database: database.database,
    charset: 'utf8mb4_unicode_ci',
    // Store and read every DATETIME as UTC.
    timezone: 'Z',
    poolSize: 10,
    connectTimeout: 5000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    // DATE columns (birth dates) stay 'YYYY-MM-DD' strings in raw queries, as on SQLite: no time-zone shifts.
    dateStrings: ['DATE'],
  };
}
