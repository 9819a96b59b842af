import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { execute, isSqliteManager, toSqlDateTime } from '../database/sql';
import { StaffUser } from './entities/staff-user.entity';
import type { LockoutColumns } from './lockout/lockout-columns';

/**
 * staff_users: the queries beyond plain find/update (the password hash is not selected by default,
 * the row lock, the admin counts) live here; other modules ask through these methods.
 */
@Injectable()
export class StaffUsersRepository implements LockoutColumns {
  constructor(@InjectRepository(StaffUser) private readonly users: Repository<StaffUser>) {}

  /** With its password hash (a sign-in); `email` is already normalised. */
  findWithPasswordByEmail(email: string): Promise<StaffUser | null> {
    return this.users.createQueryBuilder('u').addSelect('u.passwordHash').where('u.email = :email', { email }).getOne();
  }

  /** With its password hash; throws when the user does not exist. */
  getWithPassword(id: number): Promise<StaffUser> {
    return this.users.createQueryBuilder('u').addSelect('u.passwordHash').where('u.id = :id', { id }).getOneOrFail();
  }

  /** The user, row-locked for the caller's transaction (MySQL/MariaDB; SQLite serialises its writers). */
  findForUpdate(id: number, tx: EntityManager): Promise<StaffUser | null> {
    const query = tx.createQueryBuilder(StaffUser, 'u').where('u.id = :id', { id });
    if (!isSqliteManager(tx)) query.setLock('pessimistic_write');
    return query.getOne();
  }

  /** Active admins other than `exceptId`. */
  countOtherActiveAdmins(exceptId: number, tx: EntityManager = this.users.manager): Promise<number> {
    return tx
      .createQueryBuilder(StaffUser, 'u')
      .where('u.role = :role AND u.disabled = :disabled AND u.id <> :id', { role: 'admin', disabled: false, id: exceptId })
      .getCount();
  }

  /** Names and addresses of the active admins (security alerts go to them). */
  async activeAdmins(tx: EntityManager = this.users.manager): Promise<Array<{ email: string; name: string }>> {
    const admins = await tx.find(StaffUser, {
      where: { role: 'admin', disabled: false },
      select: { email: true, name: true },
      order: { id: 'ASC' },
    });
    return admins.map((admin) => ({ email: admin.email, name: admin.name }));
  }

  /** Whether a staff account uses this (normalised) address. */
  /** Which of these (normalised) addresses belong to a staff user: a patient's mailbox must not be a staff member's. */
  async emailsAmong(emails: string[]): Promise<string[]> {
    if (emails.length === 0) return [];
    const users = await this.users.find({ where: { email: In(emails) }, select: { email: true } });
    return users.map((user) => user.email);
  }

  existsWithEmail(email: string): Promise<boolean> {
    return this.users.existsBy({ email });
  }

  // The sign-in lockout columns (LockoutColumns; the rule and its limits: lockout/attempt-lock.ts).
  async reserveAttempt(id: number, limit: number, now: Date): Promise<boolean> {
    const sql =
      'UPDATE staff_users SET failed_login_count = failed_login_count + 1 WHERE id = ? AND failed_login_count < ? AND (locked_until IS NULL OR locked_until <= ?)';
    return (await execute(this.users.manager, sql, [id, limit, toSqlDateTime(now)])) === 1;
  }

  async lockAtLimit(id: number, limit: number, until: Date, tx: EntityManager): Promise<{ failures: number; locked: boolean }> {
    const [row] = await tx.query('SELECT failed_login_count FROM staff_users WHERE id = ?', [id]);
    const sql = 'UPDATE staff_users SET failed_login_count = 0, locked_until = ? WHERE id = ? AND failed_login_count >= ?';
    return {
      failures: Number(row?.failed_login_count ?? 0),
      locked: (await execute(tx, sql, [toSqlDateTime(until), id, limit])) === 1,
    };
  }

  async releaseAttempt(id: number): Promise<void> {
    const sql = 'UPDATE staff_users SET failed_login_count = failed_login_count - 1 WHERE id = ? AND failed_login_count > 0';
    await execute(this.users.manager, sql, [id]);
  }

  async isLockedAt(id: number, now: Date): Promise<boolean> {
    const [row] = await this.users.manager.query('SELECT 1 AS locked FROM staff_users WHERE id = ? AND locked_until > ?', [
      id,
      toSqlDateTime(now),
    ]);
    return Boolean(row);
  }
}
