import type { EntityManager } from 'typeorm';

/**
 * The lockout rule's port (AttemptLock, attempt-lock.ts): the two lockout columns of one account
 * row (failed_login_count, locked_until), written by the owner of the table with its own literal
 * SQL — StaffUsersRepository (staff_users), PortalAccountsRepository (portal_accounts),
 * RepresentativeAccountsRepository (representative_accounts). Each write is one conditional
 * statement, which keeps the rule race-free across requests and app instances; the limits are
 * the rule's and come in as arguments.
 */
export interface LockoutColumns {
  /** One conditional UPDATE: the count + 1 only while it is under `limit` and the account is not locked at `now`. True when it counted. */
  reserveAttempt(id: number, limit: number, now: Date): Promise<boolean>;
  /**
   * A counted attempt was wrong, in the caller's transaction: the count read, then one conditional
   * UPDATE locks the account until `until` (count back to 0) only while the count is at `limit` or
   * more — of parallel failures, one alone sees `locked`.
   */
  lockAtLimit(id: number, limit: number, until: Date, tx: EntityManager): Promise<{ failures: number; locked: boolean }>;
  /** A counted attempt no longer counts (the count - 1, never below 0). */
  releaseAttempt(id: number): Promise<void>;
  isLockedAt(id: number, now: Date): Promise<boolean>;
}
