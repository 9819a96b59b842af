import { createConnection, createPool, type Pool } from 'mysql2/promise';
import Database from 'better-sqlite3';
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

/**
 * What the bench's setup and raw-SQL code needs of a database: mysql2's pool shape
 * (`query` answering `[rows, fields]`, connections to hold for a timing loop).
 */
export interface BenchConnection {
  query(sql: string, params?: unknown[]): Promise<[any, unknown]>;
  release(): void;
}
export interface BenchDb extends Omit<BenchConnection, 'release'> {
  kind: 'mariadb' | 'sqlite';
  getConnection(): Promise<BenchConnection>;
  end(): Promise<void>;
}

export function mariadbBenchDb(database: string): BenchDb {
  const pool = benchPool(database);
  return {
    kind: 'mariadb',
    query: (sql, params) => pool.query(sql, params) as Promise<[unknown, unknown]>,
    getConnection: async () => {
      const conn = await pool.getConnection();
      return { query: (sql, params) => conn.query(sql, params) as Promise<[unknown, unknown]>, release: () => conn.release() };
    },
    end: () => pool.end(),
  };
}

/** The bench's MariaDB SQL on SQLite: index hints in SQLite's spelling; a plan SQLite cannot run is skipped by calibrate. */
function sqliteDialect(sql: string): string {
  return sql
    .replace(/^ANALYZE TABLE .*$/, 'ANALYZE')
    .replace(/STRAIGHT_JOIN /g, '')
    .replace(/FORCE INDEX \((\w+)\)/g, 'INDEXED BY $1')
    .replace(/UTC_TIMESTAMP\(\)/g, 'CURRENT_TIMESTAMP');
}

/**
 * The app's SQLite file opened by the bench (WAL: it reads beside the running app; its few
 * setup writes wait for the app's lock). better-sqlite3 is synchronous and in-process, so
 * "raw" here is the floor: no network, no pool.
 */
export function sqliteBenchDb(file: string): BenchDb {
  const db = new Database(file);
  db.pragma('busy_timeout = 10000');
  const statements = new Map<string, Database.Statement>();
  const query = async (sql: string, params: unknown[] = []): Promise<[unknown, unknown]> => {
    const text = sqliteDialect(sql);
    let statement = statements.get(text);
    if (!statement) statements.set(text, (statement = db.prepare(text)));
    const values = params.map((v) => (typeof v === 'boolean' ? Number(v) : v));
    return [statement.reader ? statement.all(...values) : statement.run(...values), undefined];
  };
  return {
    kind: 'sqlite',
    query,
    getConnection: async () => ({ query, release: () => undefined }),
    end: async () => void db.close(),
  };
}

export function sqliteVersion(): string {
  const db = new Database(':memory:');
  const { v } = db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
  db.close();
  return `SQLite ${v} (better-sqlite3, WAL, the app's single-writer queue)`;
}
