import { createConnection, createPool, type Pool } from 'mysql2/promise';
import { parseDatabaseUrl } from '../src/config/app-config';

/** The MariaDB server the bench creates its own databases on (BENCH_DATABASE_URL, no database part needed). */
export function benchServer() {
  const raw = process.env.BENCH_DATABASE_URL || 'mariadb://root@127.0.0.1:3306';
  const url = new URL(raw);
  url.pathname = '/mysql';
  const server = parseDatabaseUrl(url.toString(), 'BENCH_DATABASE_URL');
  if (server.kind === 'sqlite') throw new Error('unreachable');
  return {
    connection: { host: server.host, port: server.port, user: server.username, password: server.password },
    /** DATABASE_URL for the app and the CLIs. */
    urlFor(database: string): string {
      const out = new URL(raw);
      out.pathname = `/${database}`;
      return out.toString();
    },
  };
}

export async function recreateDatabase(name: string): Promise<void> {
  const admin = await createConnection(benchServer().connection);
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = await createConnection(benchServer().connection);
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.end();
}

/** A small pool for setup queries and the raw-SQL measurements (DATE columns as text, like the cursor needs). */
export function benchPool(database: string): Pool {
  return createPool({ ...benchServer().connection, database, connectionLimit: 2, dateStrings: true, timezone: 'Z' });
}

export async function serverVersion(): Promise<string> {
  const admin = await createConnection(benchServer().connection);
  const [rows] = await admin.query(
    'SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool, @@innodb_flush_log_at_trx_commit AS flush',
  );
  await admin.end();
  const row = (rows as { v: string; pool: number; flush: number }[])[0];
  return `MariaDB ${row.v} (buffer pool ${Math.round(Number(row.pool) / 1048576)} MB, innodb_flush_log_at_trx_commit=${row.flush})`;
}
