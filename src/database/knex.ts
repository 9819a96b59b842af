import knex, { Knex } from 'knex';
import type { DatabaseConfig } from '../config/app-config';
import { causalReadsAfterCreate } from './cluster';

/** A small knex pool for the session store (connect-session-knex), on the same database as TypeORM. */
export function createKnex(database: DatabaseConfig): Knex {
  if (database.kind === 'sqlite') {
    return knex({
      client: 'better-sqlite3',
      connection: { filename: database.file },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
    });
  }
  return knex({
    client: 'mysql2',
    connection: {
      host: database.host,
      port: database.port,
      user: database.username,
      password: database.password,
      database: database.database,
      timezone: 'Z',
      charset: 'utf8mb4',
    },
    pool: { min: 0, max: 5, afterCreate: causalReadsAfterCreate },
  });
}
