import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { execute, fromSqlDateTime, toSqlDateTime } from '../../database/sql';
import type { AccountHolder } from './account-holder';

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

/** The same columns for both kinds of account; each table's foreign key points at its own accounts. */
const TABLES: Record<AccountHolder['kind'], string> = { patient: 'portal_sessions', representative: 'representative_sessions' };

/**
 * portal_sessions (patients) and representative_sessions (representatives' own accounts): one
 * row per signed-in portal session, keyed on the account. The session itself (in
 * patient_sessions) carries the handle; a row closed here ends that session at its next request,
 * on any instance.
 */
@Injectable()
export class PortalSessionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async open(
    row: { handle: string; holder: AccountHolder; generation: number; at: Date; ip: string | null; userAgent: string | null },
    db: Db = this.dataSource,
  ): Promise<void> {
    const at = toSqlDateTime(row.at);
    await db.query(
      `INSERT INTO ${TABLES[row.holder.kind]} (handle, account_id, generation, signed_in_at, last_activity_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [row.handle, row.holder.id, row.generation, at, at, row.ip?.slice(0, 45) ?? null, row.userAgent?.slice(0, 255) ?? null],
    );
  }

  /** Whether the session behind `handle` is still open for this account. */
  async isOpen(handle: string, holder: AccountHolder): Promise<boolean> {
    const [row] = await this.dataSource.query(
      `SELECT 1 AS open FROM ${TABLES[holder.kind]} WHERE handle = ? AND account_id = ? AND ended_at IS NULL`,
      [handle, holder.id],
    );
    return Boolean(row);
  }

  /** Moves "last activity" (called at most once a minute per session, with the session's own activity mark). */
  async touch(holder: AccountHolder, handle: string, at: Date): Promise<void> {
    await this.dataSource.query(`UPDATE ${TABLES[holder.kind]} SET last_activity_at = ? WHERE handle = ? AND ended_at IS NULL`, [
      toSqlDateTime(at),
      handle,
    ]);
  }

  /** The account's open sessions of this generation active since `activeSince` (older ones have timed out), newest first. */
  async openFor(holder: AccountHolder, generation: number, activeSince: Date, signedInSince: Date): Promise<PortalSessionRow[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT handle, signed_in_at, last_activity_at, ip, user_agent FROM ${TABLES[holder.kind]}
        WHERE account_id = ? AND generation = ? AND ended_at IS NULL AND last_activity_at >= ? AND signed_in_at >= ?
        ORDER BY signed_in_at DESC, handle`,
      [holder.id, generation, toSqlDateTime(activeSince), toSqlDateTime(signedInSince)],
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
  async end(
    holder: AccountHolder,
    handle: string,
    reason: SessionEndReason,
    at: Date,
    db: Db = this.dataSource,
  ): Promise<boolean> {
    const changed = await execute(
      managerOf(db),
      `UPDATE ${TABLES[holder.kind]} SET ended_at = ?, end_reason = ? WHERE account_id = ? AND handle = ? AND ended_at IS NULL`,
      [toSqlDateTime(at), reason, holder.id, handle],
    );
    return changed === 1;
  }

  /** Closes every open session of the account but `keep` (null: all); returns how many were open. */
  async endAllBut(
    holder: AccountHolder,
    keep: string | null,
    reason: SessionEndReason,
    at: Date,
    db: Db = this.dataSource,
  ): Promise<number> {
    return execute(
      managerOf(db),
      `UPDATE ${TABLES[holder.kind]} SET ended_at = ?, end_reason = ? WHERE account_id = ? AND ended_at IS NULL${keep ? ' AND handle <> ?' : ''}`,
      [toSqlDateTime(at), reason, holder.id, ...(keep ? [keep] : [])],
    );
  }
}
