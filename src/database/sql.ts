import type { DataSource, EntityManager } from 'typeorm';

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

/** Multi-row INSERT in chunks that stay under both drivers' bound-parameter limits. */
export async function insertRows(db: DataSource | EntityManager, table: string, columns: string[], rows: unknown[][], chunkRows = 500): Promise<void> {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let start = 0; start < rows.length; start += chunkRows) {
    const chunk = rows.slice(start, start + chunkRows);
    await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`, chunk.flat());
  }
}
