import type { DataSource, EntityManager } from 'typeorm';
import { execute, toSqlDateTime } from '../../database/sql';

/** Failed sign-in attempts (passwords and second-factor codes together) before an account locks. */
export const MAX_FAILED_SIGN_INS = 5;
export const LOCKOUT_MINUTES = 15;

/** The sentence every lockout message shares, built from the constants so text and rule never drift apart. */
export const LOCKOUT_RULE = `After ${MAX_FAILED_SIGN_INS} failed attempts an account is locked for ${LOCKOUT_MINUTES} minutes.`;

type Db = DataSource | EntityManager;
const managerOf = (db: Db): EntityManager => ('manager' in db ? db.manager : db);

/**
 * The lockout counter of one account table (staff_users, portal_accounts), race-free across
 * requests and app instances. An attempt is *reserved* by one conditional UPDATE before the
 * slow hash check: it counts only while the account is unlocked and under the limit, so no
 * more than MAX_FAILED_SIGN_INS guesses are ever evaluated, however many arrive at once.
 * A wrong guess then locks the account once the reserved count reached the limit; a success
 * resets the row.
 */
export class AttemptLock {
  constructor(
    private readonly table: 'staff_users' | 'portal_accounts' | 'representative_accounts',
    private readonly key: 'id' | 'patient_id',
  ) {}

  /** True when this attempt may be evaluated (and is now counted as a failure until it succeeds). */
  async reserve(db: Db, id: number, now = new Date()): Promise<boolean> {
    const changed = await execute(
      managerOf(db),
      `UPDATE ${this.table} SET failed_login_count = failed_login_count + 1
        WHERE ${this.key} = ? AND failed_login_count < ? AND (locked_until IS NULL OR locked_until <= ?)`,
      [id, MAX_FAILED_SIGN_INS, toSqlDateTime(now)],
    );
    return changed === 1;
  }

  /** A reserved attempt turned out wrong: locks the account when the limit is reached. Returns the count seen and whether this call locked it. */
  async fail(db: Db, id: number, now = new Date()): Promise<{ failures: number; locked: boolean }> {
    const manager = managerOf(db);
    const [row] = await manager.query(`SELECT failed_login_count FROM ${this.table} WHERE ${this.key} = ?`, [id]);
    const lockedUntil = toSqlDateTime(new Date(now.getTime() + LOCKOUT_MINUTES * 60_000));
    // Only one of several parallel failures takes the lock (and writes the lockout audit row).
    const locked =
      (await execute(
        manager,
        `UPDATE ${this.table} SET failed_login_count = 0, locked_until = ? WHERE ${this.key} = ? AND failed_login_count >= ?`,
        [lockedUntil, id, MAX_FAILED_SIGN_INS],
      )) === 1;
    return { failures: Number(row?.failed_login_count ?? 0), locked };
  }

  /** A reserved attempt was right but the sign-in is not complete (second step pending): it no longer counts. */
  async release(db: Db, id: number): Promise<void> {
    await execute(
      managerOf(db),
      `UPDATE ${this.table} SET failed_login_count = failed_login_count - 1 WHERE ${this.key} = ? AND failed_login_count > 0`,
      [id],
    );
  }

  async isLocked(db: Db, id: number, now = new Date()): Promise<boolean> {
    const [row] = await managerOf(db).query(`SELECT 1 AS locked FROM ${this.table} WHERE ${this.key} = ? AND locked_until > ?`, [
      id,
      toSqlDateTime(now),
    ]);
    return Boolean(row);
  }
}

export const STAFF_ATTEMPTS = new AttemptLock('staff_users', 'id');
export const PATIENT_ATTEMPTS = new AttemptLock('portal_accounts', 'patient_id');
export const REPRESENTATIVE_ATTEMPTS = new AttemptLock('representative_accounts', 'id');
