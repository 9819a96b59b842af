import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { chunks, execute, forUpdate, fromSqlDateTime, placeholders, toSqlDateTime } from '../database/sql';

/** Every open portal session of the representative ends (a session stores the generation it began with). */
const END_SESSIONS = 'session_generation = session_generation + 1';

/** One address, one account: compared trimmed and case-insensitively (the shared-address rule uses the same key). */
export const emailKeyOf = (email: string) => email.trim().toLowerCase();

export interface RepresentativeAccount {
  id: number;
  email: string;
  fullName: string;
  username: string | null;
  invitedAt: Date | null;
  firstLoginAt: Date | null;
  lastLoginAt: Date | null;
  /** The sign-in lockout (the same rule as patients': auth/lockout/attempt-lock.ts). */
  failedLoginCount: number;
  lockedUntil: Date | null;
  /** Their own language (BCP 47); null: their emails follow the patient's. */
  language: string | null;
}

export interface RepresentativeSignIn {
  id: number;
  fullName: string;
  username: string;
  passwordHash: string | null;
}

const accountOf = (row: Record<string, unknown>): RepresentativeAccount => ({
  id: Number(row.id),
  email: String(row.email),
  fullName: String(row.full_name),
  username: (row.username as string | null) ?? null,
  invitedAt: fromSqlDateTime(row.invited_at as string | null),
  firstLoginAt: fromSqlDateTime(row.first_login_at as string | null),
  lastLoginAt: fromSqlDateTime(row.last_login_at as string | null),
  failedLoginCount: Number(row.failed_login_count ?? 0),
  lockedUntil: fromSqlDateTime(row.locked_until as string | null),
  language: (row.language as string | null) ?? null,
});

/**
 * representative_accounts: a representative's own portal account (one per person, found by
 * address), the one writer of the table. Like portal_accounts it lives in PortalAccountsModule,
 * so the link pages and the portal sign-in (src/portal) use it without importing portal-access.
 */
@Injectable()
export class RepresentativeAccountsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The account of this address, created (without username or password) when there is none yet. */
  async findOrCreate(email: string, fullName: string, now: Date, tx: EntityManager): Promise<number> {
    const key = emailKeyOf(email);
    const [found] = await tx.query(`SELECT id FROM representative_accounts WHERE email_key = ?${forUpdate(tx)}`, [key]);
    if (found) return Number(found.id);
    const at = toSqlDateTime(now);
    await tx.query(
      'INSERT INTO representative_accounts (email_key, email, full_name, failed_login_count, session_generation, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?)',
      [key, email.trim(), fullName, at, at],
    );
    const [created] = await tx.query('SELECT id FROM representative_accounts WHERE email_key = ?', [key]);
    return Number(created.id);
  }

  async byIds(ids: number[], db: EntityManager = this.dataSource.manager): Promise<Map<number, RepresentativeAccount>> {
    const found = new Map<number, RepresentativeAccount>();
    for (const chunk of chunks(ids)) {
      const rows: Array<Record<string, unknown>> = await db.query(
        `SELECT id, email, full_name, username, invited_at, first_login_at, last_login_at, failed_login_count, locked_until, language FROM representative_accounts WHERE id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const row of rows) found.set(Number(row.id), accountOf(row));
    }
    return found;
  }

  async markInvited(id: number, now: Date, tx: EntityManager): Promise<void> {
    await tx.query('UPDATE representative_accounts SET invited_at = COALESCE(invited_at, ?), updated_at = ? WHERE id = ?', [
      toSqlDateTime(now),
      toSqlDateTime(now),
      id,
    ]);
  }

  /** Ends every open portal session of these accounts (one of their patients was taken away). */
  async endSessions(ids: number[], now: Date, tx: EntityManager): Promise<void> {
    for (const chunk of chunks(ids))
      await tx.query(
        `UPDATE representative_accounts SET ${END_SESSIONS}, updated_at = ? WHERE id IN (${placeholders(chunk.length)})`,
        [toSqlDateTime(now), ...chunk],
      );
  }

  /** Staff unlock sign-in (the lockout columns back to "never failed"); false when nothing was locked or counted. */
  async unlock(id: number, now: Date, tx: EntityManager): Promise<boolean> {
    const changed = await execute(
      tx,
      'UPDATE representative_accounts SET failed_login_count = 0, locked_until = NULL, updated_at = ? WHERE id = ? AND (failed_login_count > 0 OR locked_until IS NOT NULL)',
      [toSqlDateTime(now), id],
    );
    return changed === 1;
  }

  /**
   * "Forgot password": the account with a password behind a username key or an address (trimmed,
   * case-insensitive), or null.
   */
  async resetTarget(by: { usernameKey: string } | { email: string }): Promise<{ id: number } | null> {
    const [row] = await this.dataSource.query(
      `SELECT id FROM representative_accounts WHERE ${'usernameKey' in by ? 'username_key' : 'email_key'} = ? AND password_hash IS NOT NULL AND username IS NOT NULL`,
      ['usernameKey' in by ? by.usernameKey : emailKeyOf(by.email)],
    );
    return row ? { id: Number(row.id) } : null;
  }

  /** Whether another representative account holds the username key. */
  async usernameTaken(
    key: string,
    exceptAccountId: number | null,
    db: EntityManager | DataSource = this.dataSource,
  ): Promise<boolean> {
    const [owner] = await db.query('SELECT id FROM representative_accounts WHERE username_key = ? AND id <> ?', [
      key,
      exceptAccountId ?? 0,
    ]);
    return Boolean(owner);
  }

  /** The representative's new password (and the username chosen from the invite link); other sessions end. */
  async setPassword(
    id: number,
    passwordHash: string,
    chosen: { username: string; key: string } | null,
    now: Date,
    tx: EntityManager,
  ): Promise<void> {
    await tx.query(
      `UPDATE representative_accounts SET ${chosen ? 'username = ?, username_key = ?, ' : ''}password_hash = ?, failed_login_count = 0, locked_until = NULL, ${END_SESSIONS}, updated_at = ? WHERE id = ?`,
      [...(chosen ? [chosen.username, chosen.key] : []), passwordHash, toSqlDateTime(now), id],
    );
  }

  async findForSignIn(usernameKey: string): Promise<RepresentativeSignIn | null> {
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      'SELECT id, full_name, username, password_hash FROM representative_accounts WHERE username_key = ?',
      [usernameKey],
    );
    if (!row) return null;
    return {
      id: Number(row.id),
      fullName: String(row.full_name),
      username: String(row.username),
      passwordHash: (row.password_hash as string | null) ?? null,
    };
  }

  /** What the account page's password change needs (null when there is no such account). */
  async passwordHolder(
    id: number,
    db: EntityManager | DataSource = this.dataSource,
  ): Promise<{ passwordHash: string | null; username: string | null; fullName: string; email: string } | null> {
    const [row] = await db.query('SELECT password_hash, username, full_name, email FROM representative_accounts WHERE id = ?', [
      id,
    ]);
    return row
      ? {
          passwordHash: row.password_hash ?? null,
          username: row.username ?? null,
          fullName: String(row.full_name),
          email: String(row.email),
        }
      : null;
  }

  async recordSignIn(id: number, now: Date, tx: EntityManager): Promise<void> {
    const at = toSqlDateTime(now);
    await tx.query(
      'UPDATE representative_accounts SET first_login_at = COALESCE(first_login_at, ?), last_login_at = ?, failed_login_count = 0, locked_until = NULL WHERE id = ?',
      [at, at, id],
    );
  }

  /** The session check: the account's current generation and username (null when it has none). */
  async sessionState(id: number): Promise<{ generation: number; username: string | null; fullName: string } | null> {
    const [row] = await this.dataSource.query(
      'SELECT session_generation, username, full_name FROM representative_accounts WHERE id = ?',
      [id],
    );
    return row
      ? { generation: Number(row.session_generation), username: row.username ?? null, fullName: String(row.full_name) }
      : null;
  }

  /**
   * The language a representative's emails are written in: their own (set by staff or by the portal's
   * language switch), else the preferred language of the patient the email is about (or, for a notice
   * about their own account, of the first patient they were recorded for), else null (the default).
   */
  async emailLanguageOf(
    id: number,
    patientId: number | null,
    db: EntityManager | DataSource = this.dataSource,
  ): Promise<string | null> {
    const patient =
      patientId === null
        ? 'SELECT p.preferred_language FROM patient_representatives pr JOIN patients p ON p.id = pr.patient_id WHERE pr.account_id = ra.id AND p.preferred_language IS NOT NULL ORDER BY pr.id LIMIT 1'
        : 'SELECT p.preferred_language FROM patients p WHERE p.id = ?';
    const [row] = await db.query(
      `SELECT COALESCE(ra.language, (${patient})) AS language FROM representative_accounts ra WHERE ra.id = ?`,
      patientId === null ? [id] : [patientId, id],
    );
    return (row?.language as string | null | undefined) ?? null;
  }

  /** The representative's own language (null: follow the patient's). */
  async setLanguage(id: number, language: string | null, now: Date, db: EntityManager = this.dataSource.manager): Promise<void> {
    await execute(db, 'UPDATE representative_accounts SET language = ?, updated_at = ? WHERE id = ?', [
      language,
      toSqlDateTime(now),
      id,
    ]);
  }

  /** The representative's own language, if they (or staff) set one. */
  async languageOf(id: number): Promise<string | null> {
    const [row] = await this.dataSource.query('SELECT language FROM representative_accounts WHERE id = ?', [id]);
    return (row?.language as string | null | undefined) ?? null;
  }
}
