import type { EntityManager } from 'typeorm';

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
