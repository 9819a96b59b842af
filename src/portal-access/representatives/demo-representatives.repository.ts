import type { EntityManager } from 'typeorm';
import { placeholders } from '../../database/sql';

/** The demo seed's two reads (demo-representatives.ts): kept here so SQL stays in repository files. */
export async function maxPatientId(tx: EntityManager): Promise<number> {
  const [{ maxId }]: Array<{ maxId: number | string }> = await tx.query('SELECT COALESCE(MAX(id), 0) AS maxId FROM patients');
  return Number(maxId);
}

export async function representativeIdsByEmailKey(tx: EntityManager, keys: string[]): Promise<Map<string, number>> {
  const rows: Array<{ id: number | string; email_key: string }> = await tx.query(
    `SELECT id, email_key FROM representative_accounts WHERE email_key IN (${placeholders(keys.length)})`,
    keys,
  );
  return new Map(rows.map((row) => [row.email_key, Number(row.id)]));
}
