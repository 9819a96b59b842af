import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { Knex } from 'knex';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config';
import { causalReadsAfterCreate } from './cluster';
import { SnakeNamingStrategy } from './snake-naming.strategy';

/** The entities and migrations, passed in by the app (src/app.schema.ts): the data layer imports no feature. */
export interface DatabaseSchema {
  entities: NonNullable<DataSourceOptions['entities']>;
  migrations: NonNullable<DataSourceOptions['migrations']>;
}

/** Every SQLite connection (TypeORM's and the session store's): wait for the other writer, enforce foreign keys. */
function prepareSqlite(db: { pragma(sql: string): unknown }): void {
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
}

/** Every MySQL/MariaDB connection: where, and every DATETIME stored and read as UTC (the user goes by each client's own key). */
function mysqlConnection(database: Exclude<DatabaseConfig, { kind: 'sqlite' }>) {
  return { host: database.host, port: database.port, password: database.password, database: database.database, timezone: 'Z' };
}

/** The one SQLite/MySQL switch: every connection in the app, the CLI and the tests is built here (TypeORM's below, the session store's in createSessionKnex). */
export function buildDataSourceOptions(database: DatabaseConfig, schema: DatabaseSchema): DataSourceOptions {
  const common = {
    entities: schema.entities,
    migrations: schema.migrations,
    namingStrategy: new SnakeNamingStrategy(),
    // The schema comes only from migrations.
    synchronize: false,
    migrationsRun: false,
    logging: ['error'] as 'error'[],
  };
  if (database.kind === 'sqlite') {
    mkdirSync(dirname(database.file), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: database.file,
      // WAL lets the session store's second connection read while the app writes.
      enableWAL: true,
      prepareDatabase: prepareSqlite,
    };
  }
  return {
    ...common,
    // mariadb:// selects TypeORM's MariaDB dialect (MariaDB 10.11 has no FOR SHARE).
    type: database.kind,
    ...mysqlConnection(database),
    username: database.username,
    charset: 'utf8mb4_unicode_ci',
    poolSize: 10,
    connectTimeout: 5000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    // DATE columns (birth dates) stay 'YYYY-MM-DD' strings in raw queries, as on SQLite: no time-zone shifts.
    dateStrings: ['DATE'],
  };
}

/** A small knex pool for the session store (connect-session-knex), on the same database and with the same connection settings as TypeORM. */
export function createSessionKnex(database: DatabaseConfig): Knex {
  if (database.kind === 'sqlite') {
    return knex({
      client: 'better-sqlite3',
      connection: { filename: database.file },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          prepareSqlite(conn);
          done(null, conn);
        },
      },
    });
  }
  return knex({
    client: 'mysql2',
    connection: { ...mysqlConnection(database), user: database.username, charset: 'utf8mb4' },
    pool: { min: 0, max: 5, afterCreate: causalReadsAfterCreate },
  });
}
