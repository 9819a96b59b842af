import type { DataSource, EntityManager } from 'typeorm';

/** Ids or values per statement: well inside both drivers' limits on bound parameters and packet size. */
export const SQL_CHUNK = 1000;

/** `?, ?, ?` for an IN list of n values. */
export const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** Splits a list into SQL_CHUNK-sized pieces for IN lists. */
export function chunks<T>(items: T[], size = SQL_CHUNK): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/**
 * 'YYYY-MM-DD HH:MM:SS' in UTC: the one DATETIME literal both drivers accept in raw
 * queries (better-sqlite3 cannot bind Date objects; MySQL rounds fractional seconds).
 */
export function toSqlDateTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** A DATETIME value read by a raw query: a Date from mysql2, a UTC string from SQLite. */
export function fromSqlDateTime(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  return new Date(value.includes('T') ? value : value.replace(' ', 'T') + 'Z');
}

export function isSqliteManager(db: DataSource | EntityManager): boolean {
  const options = 'options' in db ? db.options : db.connection.options;
  return options.type === 'better-sqlite3';
}

/** A DATE value read by a raw query (mysql2: a Date at UTC midnight; SQLite: the text) as 'YYYY-MM-DD'. */
export function fromSqlDate(value: Date | string): string;
export function fromSqlDate(value: Date | string | null | undefined): string | null;
export function fromSqlDate(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString().slice(0, 10) : String(value).slice(0, 10);
}

/**
 * The row-lock suffix for a SELECT inside a write transaction: ' FOR UPDATE' on MySQL/MariaDB, nothing on
 * SQLite, which has no row locks because the app serialises its writers (see open-database.ts).
 */
export function forUpdate(db: DataSource | EntityManager): string {
  return isSqliteManager(db) ? '' : ' FOR UPDATE';
}

/** Multi-row INSERT in chunks that stay under both drivers' bound-parameter limits. */
export async function insertRows(
  db: DataSource | EntityManager,
  table: string,
  columns: string[],
  rows: unknown[][],
  chunkRows = 500,
): Promise<void> {
  const tuple = `(${placeholders(columns.length)})`;
  for (let start = 0; start < rows.length; start += chunkRows) {
    const chunk = rows.slice(start, start + chunkRows);
    await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`, chunk.flat());
  }
}

/**
 * Runs a raw INSERT/UPDATE/DELETE and returns the number of rows it changed. Needed because
 * `manager.query()` returns the last insert id, not the change count, on better-sqlite3.
 */
export async function execute(db: EntityManager, sql: string, params: unknown[]): Promise<number> {
  const runner = db.queryRunner ?? db.connection.createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return Number(result.affected ?? 0);
  } finally {
    if (!db.queryRunner) await runner.release();
  }
}

/** LIKE pattern for a prefix; '!' escapes because a backslash means different things to MySQL and SQLite string literals. */
export function likePrefix(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`) + '%';
}
/** The comparison that goes with likePrefix(). */
export const LIKE = `LIKE ? ESCAPE '!'`;
