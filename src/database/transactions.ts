import type { DataSource, EntityManager } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';

/**
 * MySQL/MariaDB errors after which the whole transaction may simply run again: 1213
 * ER_LOCK_DEADLOCK (a real deadlock, or Galera's certification conflict with a write
 * committed on another node) and 1205 ER_LOCK_WAIT_TIMEOUT. Both roll the transaction
 * back (1205 with innodb_rollback_on_timeout; TypeORM rolls back either way).
 */
const CONFLICT_ERRNOS = new Set([1213, 1205]);

/** Attempts in all (first try included). Bounded: a conflict that persists surfaces as an error. */
export const CONFLICT_ATTEMPTS = 10;
const BASE_DELAY_MS = 15;
const MAX_DELAY_MS = 4000;

export function isConflictError(error: unknown): boolean {
  const e = error as { errno?: number; driverError?: { errno?: number } } | null;
  return CONFLICT_ERRNOS.has(Number(e?.errno ?? e?.driverError?.errno));
}

/** Called with each conflict that is retried (metrics, tests). */
let onRetry: ((attempt: number, error: unknown) => void) | null = null;
export function observeConflictRetries(listener: typeof onRetry): void {
  onRetry = listener;
}

/**
 * Runs `work` again after a conflict, up to CONFLICT_ATTEMPTS times, waiting a random
 * ("full jitter") exponential delay so the losers of a conflict do not collide again.
 * The delay grows from the time the failed attempt took, not only from a constant: on a
 * loaded Galera cluster one attempt can take a second, and contenders that wait less than
 * that overlap again on every retry (seen: three clicks on one patient through three nodes).
 * `work` must be all-or-nothing: one transaction, or one statement, with no effect outside
 * the database before it commits (queue emails as outbox rows inside it, not by sending).
 */
export async function withConflictRetry<T>(work: () => Promise<T>, attempts = CONFLICT_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isConflictError(error)) throw error;
      onRetry?.(attempt, error);
      const ceiling = Math.min(MAX_DELAY_MS, Math.max(BASE_DELAY_MS, Date.now() - started) * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}

type Work<T> = (tx: EntityManager) => Promise<T>;

/**
 * The app's one way to open a write transaction: `db.transaction(...)`, run again on a
 * conflict. Inside an already open transaction it only nests (a savepoint): the conflict
 * has rolled back the outer transaction too, so the outermost call is the one that retries.
 */
export function runInTransaction<T>(db: DataSource | EntityManager, work: Work<T>): Promise<T>;
export function runInTransaction<T>(db: DataSource | EntityManager, isolation: IsolationLevel, work: Work<T>): Promise<T>;
export function runInTransaction<T>(
  db: DataSource | EntityManager,
  isolationOrWork: IsolationLevel | Work<T>,
  maybeWork?: Work<T>,
): Promise<T> {
  const run = () =>
    typeof isolationOrWork === 'function' ? db.transaction(isolationOrWork) : db.transaction(isolationOrWork, maybeWork!);
  const nested = 'queryRunner' in db && db.queryRunner?.isTransactionActive;
  return nested ? run() : withConflictRetry(run);
}
