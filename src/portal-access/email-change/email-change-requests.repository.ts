import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { execute, fromSqlDateTime, isSqliteManager, toSqlDateTime } from '../../database/sql';

export type EmailChangeStatus =
  'awaiting_approval' | 'awaiting_confirmation' | 'confirmed' | 'frozen' | 'rejected' | 'superseded';
/** Who asked: staff on the tab, an import, or the patient while activating in the clinic (issue #18). */
export type EmailChangeSource = 'staff' | 'import' | 'patient';

/** Requests that still hold the patient's change (one at most per patient). */
export const OPEN_STATUSES: readonly EmailChangeStatus[] = ['awaiting_approval', 'awaiting_confirmation', 'frozen'];

export interface EmailChangeRequest {
  id: number;
  patientId: number;
  patientName: string;
  oldEmail: string | null;
  newEmail: string;
  status: EmailChangeStatus;
  source: EmailChangeSource;
  reason: string;
  requestedBy: number | null;
  requestedByLabel: string | null;
  decidedBy: number | null;
  decidedByLabel: string | null;
  verifyExpiresAt: Date | null;
  reportExpiresAt: Date | null;
  createdAt: Date;
}

export interface NewEmailChangeRequest {
  patientId: number;
  oldEmail: string | null;
  newEmail: string;
  status: EmailChangeStatus;
  source: EmailChangeSource;
  reason: string;
  requestedBy: number | null;
  requestedByLabel: string | null;
  verifyTokenHash: string | null;
  verifyExpiresAt: Date | null;
  reportTokenHash: string | null;
  reportExpiresAt: Date | null;
}

const SELECT = `SELECT r.id, r.patient_id, p.first_name, p.last_name, r.old_email, r.new_email, r.status, r.source, r.reason, r.requested_by, r.requested_by_label,
                       r.decided_by, r.decided_by_label, r.verify_expires_at, r.report_expires_at, r.created_at
                  FROM email_change_requests r JOIN patients p ON p.id = r.patient_id`;
const OPEN_SQL = OPEN_STATUSES.map((status) => `'${status}'`).join(', ');

type Row = Record<string, unknown>;
const toRequest = (row: Row): EmailChangeRequest => ({
  id: Number(row.id),
  patientId: Number(row.patient_id),
  patientName: `${row.last_name}, ${row.first_name}`,
  oldEmail: (row.old_email as string | null) ?? null,
  newEmail: String(row.new_email),
  status: row.status as EmailChangeStatus,
  source: row.source as EmailChangeSource,
  reason: String(row.reason),
  requestedBy: row.requested_by === null ? null : Number(row.requested_by),
  requestedByLabel: (row.requested_by_label as string | null) ?? null,
  decidedBy: row.decided_by === null ? null : Number(row.decided_by),
  decidedByLabel: (row.decided_by_label as string | null) ?? null,
  verifyExpiresAt: fromSqlDateTime(row.verify_expires_at as string | null),
  reportExpiresAt: fromSqlDateTime(row.report_expires_at as string | null),
  createdAt: fromSqlDateTime(row.created_at as string)!,
});

/** The one owner of `email_change_requests`: every status move is one conditional UPDATE, so two staff (or a staff member and the patient) can never both win. */
@Injectable()
export class EmailChangeRequestsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(tx: EntityManager, request: NewEmailChangeRequest, now: Date): Promise<number> {
    const nowSql = toSqlDateTime(now);
    const sqlDate = (date: Date | null) => (date ? toSqlDateTime(date) : null);
    await tx.query(
      `INSERT INTO email_change_requests (patient_id, old_email, new_email, status, source, reason, requested_by, requested_by_label, verify_token_hash, verify_expires_at, report_token_hash, report_expires_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        request.patientId,
        request.oldEmail,
        request.newEmail,
        request.status,
        request.source,
        request.reason,
        request.requestedBy,
        request.requestedByLabel,
        request.verifyTokenHash,
        sqlDate(request.verifyExpiresAt),
        request.reportTokenHash,
        sqlDate(request.reportExpiresAt),
        nowSql,
        nowSql,
      ],
    );
    const [{ id }] = await tx.query('SELECT MAX(id) AS id FROM email_change_requests WHERE patient_id = ?', [request.patientId]);
    return Number(id);
  }

  /** A new request voids the patient's earlier open ones (their links stop working). Returns how many. */
  supersedeOpen(tx: EntityManager, patientId: number, now: Date): Promise<number> {
    return execute(
      tx,
      `UPDATE email_change_requests SET status = 'superseded', verify_token_hash = NULL, updated_at = ? WHERE patient_id = ? AND status IN (${OPEN_SQL})`,
      [toSqlDateTime(now), patientId],
    );
  }

  async byId(db: DataSource | EntityManager, id: number, lock = false): Promise<EmailChangeRequest | null> {
    const manager = 'manager' in db ? db.manager : db;
    const [row] = await manager.query(`${SELECT} WHERE r.id = ?${lock && !isSqliteManager(manager) ? ' FOR UPDATE' : ''}`, [id]);
    return row ? toRequest(row) : null;
  }

  async byTokenHash(
    kind: 'verify' | 'report',
    tokenHash: string,
    db: DataSource | EntityManager = this.dataSource,
  ): Promise<EmailChangeRequest | null> {
    const [row] = await db.query(`${SELECT} WHERE r.${kind}_token_hash = ?`, [tokenHash]);
    return row ? toRequest(row) : null;
  }

  /** Open requests, oldest first: one patient's (the tab) or everyone's (the admin queue). */
  async open(patientId?: number): Promise<EmailChangeRequest[]> {
    const rows: Row[] = await this.dataSource.query(
      `${SELECT} WHERE r.status IN (${OPEN_SQL})${patientId === undefined ? '' : ' AND r.patient_id = ?'} ORDER BY r.created_at, r.id LIMIT 200`,
      patientId === undefined ? [] : [patientId],
    );
    return rows.map(toRequest);
  }

  /** Requests made since a time, by one staff member or for one patient (throttling). */
  async countSince(column: 'requested_by' | 'patient_id', value: number, since: Date): Promise<number> {
    const [{ n }] = await this.dataSource.query(
      `SELECT COUNT(*) AS n FROM email_change_requests WHERE ${column} = ? AND created_at >= ?`,
      [value, toSqlDateTime(since)],
    );
    return Number(n);
  }

  /**
   * Moves one request from `from` to `to` when it is still there; false when someone else moved
   * it first. `set` adds columns (token hashes, who decided).
   */
  async move(
    tx: EntityManager,
    id: number,
    from: readonly EmailChangeStatus[],
    to: EmailChangeStatus,
    now: Date,
    set: Record<string, string | number | Date | null> = {},
    notRequestedBy?: number,
  ): Promise<boolean> {
    const columns = Object.entries(set);
    const params = columns.map(([, value]) => (value instanceof Date ? toSqlDateTime(value) : value));
    const changed = await execute(
      tx,
      `UPDATE email_change_requests SET status = ?, updated_at = ?${columns.map(([column]) => `, ${column} = ?`).join('')}
        WHERE id = ? AND status IN (${from.map(() => '?').join(', ')})${notRequestedBy === undefined ? '' : ' AND (requested_by IS NULL OR requested_by <> ?)'}`,
      [to, toSqlDateTime(now), ...params, id, ...from, ...(notRequestedBy === undefined ? [] : [notRequestedBy])],
    );
    return changed === 1;
  }

  /** Whether the patient has an open request for this new address (a re-import leaves it as it is). */
  async hasOpenFor(tx: EntityManager, patientId: number, newEmail: string): Promise<boolean> {
    const rows: Array<{ id: number | string }> = await tx.query(
      `SELECT id FROM email_change_requests WHERE patient_id = ? AND new_email = ? AND status IN (${OPEN_SQL})`,
      [patientId, newEmail],
    );
    return rows.length > 0;
  }

  /** The address moved by another path since the request: the request is void. */
  async markSuperseded(tx: EntityManager, id: number): Promise<void> {
    await tx.query("UPDATE email_change_requests SET status = 'superseded' WHERE id = ?", [id]);
  }

  /** The old address's "this wasn't me" link: set when the change completes, cleared once used. */
  async setReportToken(tx: EntityManager, id: number, tokenHash: string, expiresAt: Date): Promise<void> {
    await tx.query('UPDATE email_change_requests SET report_token_hash = ?, report_expires_at = ? WHERE id = ?', [
      tokenHash,
      toSqlDateTime(expiresAt),
      id,
    ]);
  }

  async clearReportToken(tx: EntityManager, id: number, now: Date): Promise<void> {
    await tx.query('UPDATE email_change_requests SET report_token_hash = NULL, updated_at = ? WHERE id = ?', [
      toSqlDateTime(now),
      id,
    ]);
  }

  /** Uses the verify link up: only an unexpired link of a request still awaiting it. */
  async consumeVerify(tx: EntityManager, tokenHash: string, now: Date): Promise<EmailChangeRequest | null> {
    const request = await this.byTokenHash('verify', tokenHash, tx);
    if (!request || request.status !== 'awaiting_confirmation' || !request.verifyExpiresAt || request.verifyExpiresAt <= now)
      return null;
    const moved = await this.move(tx, request.id, ['awaiting_confirmation'], 'confirmed', now, {
      verify_token_hash: null,
      decided_at: now,
    });
    return moved ? request : null;
  }
}
