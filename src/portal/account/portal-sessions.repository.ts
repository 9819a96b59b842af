import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { execute, fromSqlDateTime, toSqlDateTime } from '../../database/sql';

/** Why a session row was closed (kept for the account page's history and the audit trail). */
export type SessionEndReason = 'signed_out' | 'ended_by_patient' | 'password_changed' | 'expired';

export interface PortalSessionRow {
  handle: string;
  signedInAt: Date;
  lastActivityAt: Date;
  ip: string | null;
  userAgent: string | null;
}

type Db = DataSource | EntityManager;
const managerOf = (db: Db): EntityManager => ('manager' in db ? db.manager : db);

/**
 * portal_sessions: one row per signed-in portal session, keyed on the portal account. The
 * session itself (in patient_sessions) carries the handle; a row closed here ends that session
 * at its next request, on any instance.
 */
@Injectable()
export class PortalSessionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async open(
    row: { handle: string; accountId: number; generation: number; at: Date; ip: string | null; userAgent: string | null },
    db: Db = this.dataSource,
  ): Promise<void> {
    const at = toSqlDateTime(row.at);
    await db.query(
      'INSERT INTO portal_sessions (handle, account_id, generation, signed_in_at, last_activity_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [row.handle, row.accountId, row.generation, at, at, row.ip?.slice(0, 45) ?? null, row.userAgent?.slice(0, 255) ?? null],
    );
  }

  /** Whether the session behind `handle` is still open for this account. */
  async isOpen(handle: string, accountId: number): Promise<boolean> {
    const [row] = await this.dataSource.query(
      'SELECT 1 AS open FROM portal_sessions WHERE handle = ? AND account_id = ? AND ended_at IS NULL',
      [handle, accountId],
    );
    return Boolean(row);
  }

  /** Moves "last activity" (called at most once a minute per session, with the session's own activity mark). */
  async touch(handle: string, at: Date): Promise<void> {
    await this.dataSource.query('UPDATE portal_sessions SET last_activity_at = ? WHERE handle = ? AND ended_at IS NULL', [
      toSqlDateTime(at),
      handle,
    ]);
  }

  /** The account's open sessions of this generation active since `activeSince` (older ones have timed out), newest first. */
  async openFor(accountId: number, generation: number, activeSince: Date, signedInSince: Date): Promise<PortalSessionRow[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT handle, signed_in_at, last_activity_at, ip, user_agent FROM portal_sessions
        WHERE account_id = ? AND generation = ? AND ended_at IS NULL AND last_activity_at >= ? AND signed_in_at >= ?
        ORDER BY signed_in_at DESC, handle`,
      [accountId, generation, toSqlDateTime(activeSince), toSqlDateTime(signedInSince)],
    );
    return rows.map((row) => ({
      handle: String(row.handle),
      signedInAt: fromSqlDateTime(row.signed_in_at as string | Date)!,
      lastActivityAt: fromSqlDateTime(row.last_activity_at as string | Date)!,
      ip: (row.ip as string | null) ?? null,
      userAgent: (row.user_agent as string | null) ?? null,
    }));
  }

  /** Closes one session of the account; returns whether it was open. */
  async end(accountId: number, handle: string, reason: SessionEndReason, at: Date, db: Db = this.dataSource): Promise<boolean> {
    const changed = await execute(
      managerOf(db),
      'UPDATE portal_sessions SET ended_at = ?, end_reason = ? WHERE account_id = ? AND handle = ? AND ended_at IS NULL',
      [toSqlDateTime(at), reason, accountId, handle],
    );
    return changed === 1;
  }

  /** Closes every open session of the account but `keep` (null: all); returns how many were open. */
  async endAllBut(
    accountId: number,
    keep: string | null,
    reason: SessionEndReason,
    at: Date,
    db: Db = this.dataSource,
  ): Promise<number> {
    return execute(
      managerOf(db),
      `UPDATE portal_sessions SET ended_at = ?, end_reason = ? WHERE account_id = ? AND ended_at IS NULL${keep ? ' AND handle <> ?' : ''}`,
      [toSqlDateTime(at), reason, accountId, ...(keep ? [keep] : [])],
    );
  }
}
