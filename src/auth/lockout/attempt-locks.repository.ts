import type { DataSource, EntityManager } from 'typeorm';
import { execute, toSqlDateTime } from '../../database/sql';
import { LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS } from './attempt-lock';

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
    const [row]: Array<{ failed_login_count: number | string }> = await manager.query(
      `SELECT failed_login_count FROM ${this.table} WHERE ${this.key} = ?`,
      [id],
    );
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

/*
 * Both account tables carry the same two lockout columns (failed_login_count, locked_until); this class is
 * their one writer, so the reserve-then-lock rule is written once. The tables' other columns stay with
 * their owners (StaffUsersRepository, PortalAccountsRepository).
 */
export const STAFF_ATTEMPTS = new AttemptLock('staff_users', 'id');
export const PATIENT_ATTEMPTS = new AttemptLock('portal_accounts', 'patient_id');
export const REPRESENTATIVE_ATTEMPTS = new AttemptLock('representative_accounts', 'id');
