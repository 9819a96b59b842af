import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  chunks,
  execute,
  forUpdate,
  fromSqlDateTime,
  insertRows,
  isSqliteManager,
  LIKE,
  likePrefix,
  placeholders,
  toSqlDateTime,
} from '../database/sql';
import { MetricsService } from '../observability/metrics.service';
import { ActivationFunnelRepository } from '../patients/activation-funnel.repository';
import { runInTransaction, withConflictRetry } from '../database/transactions';

/** One email to queue; the sender delivers it after the caller's transaction commits. */
export interface OutboxEmail {
  /** Null for a notice that is no patient's (a representative's own account, a staff member's). */
  patientId: number | null;
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  batchId?: string | null;
  portalTokenId?: number | null;
}

/** One email of a batch as its report lists it, with the patient's name. */
export interface BatchEmail {
  id: number;
  patientId: number | null;
  kind: string;
  toAddress: string;
  status: string;
  lastError: string | null;
  sentAt: Date | null;
  firstName: string | null;
  lastName: string | null;
}

/** A row this sender holds for one round (column names as stored). */
export interface ClaimedEmail {
  id: string;
  batch_id: string | null;
  patient_id: number | null;
  kind: string;
  to_address: string;
  subject: string;
  text_body: string | null;
  html_body: string | null;
  attempts: number;
  /** This round's claim; a row taken over by another sender no longer carries it. */
  claimed_by: string;
}

export interface OutboxLatest {
  patientId: number;
  kind: string;
  status: string;
  createdAt: Date;
  sentAt: Date | null;
  /** The expiry of the link the email carried, if any. */
  linkExpiresAt: Date | null;
  /** The rest of that link's and email's states (src/portal-access/link-state.ts). */
  linkOpenedAt: Date | null;
  linkUsedAt: Date | null;
  linkRevokedAt: Date | null;
  linkRevokedReason: string | null;
  failedAt: Date | null;
  bouncedAt: Date | null;
  bounceKind: string | null;
}

/**
 * An email that will never be sent keeps no body: cancelled, failed and sent rows all erase it here
 * (patients' names and links must not linger in the outbox).
 */
const ERASE_BODY = 'text_body = NULL, html_body = NULL';

/** What a claim hands the sender of each row. */
const CLAIMED_COLUMNS = 'id, batch_id, patient_id, kind, to_address, subject, text_body, html_body, attempts, claimed_by';

/**
 * mail_outbox: the only place its SQL lives. Also feeds the /metrics outbox-depth gauge. An email of a link
 * becoming 'sent', or a hard bounce taking it back, moves the activation funnel: its summary is updated in the
 * same transaction, after the email rows.
 */
@Injectable()
export class MailOutboxRepository implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly funnel: ActivationFunnelRepository,
  ) {}

  onModuleInit(): void {
    this.metrics.countOutboxWith(() => this.countByStatus());
  }

  async countByStatus(): Promise<Array<{ status: string; count: number }>> {
    const rows: Array<{ status: string; n: number | string }> = await this.dataSource.query(
      'SELECT status, COUNT(*) AS n FROM mail_outbox GROUP BY status',
    );
    return rows.map((row) => ({ status: row.status, count: Number(row.n) }));
  }

  /** Queues emails as 'pending', due now (bodies are large: 200 rows per statement). */
  async enqueue(emails: OutboxEmail[], tx: EntityManager, now = new Date()): Promise<void> {
    const nowSql = toSqlDateTime(now);
    await insertRows(
      tx,
      'mail_outbox',
      [
        'batch_id',
        'patient_id',
        'portal_token_id',
        'kind',
        'to_address',
        'subject',
        'text_body',
        'html_body',
        'status',
        'attempts',
        'next_attempt_at',
        'created_at',
      ],
      emails.map((e) => [
        e.batchId ?? null,
        e.patientId,
        e.portalTokenId ?? null,
        e.kind,
        e.to,
        e.subject,
        e.text,
        e.html,
        'pending',
        0,
        nowSql,
        nowSql,
      ]),
      200,
    );
  }

  /**
   * The demo's sent invites (src/demo), as the sender leaves them: `sent`, bodies erased. Static: the seeder runs
   * without Nest, and this instance's metrics gauge may exist only once per process.
   */
  static async insertDemoSent(
    emails: Array<{ patientId: number; portalTokenId: number; to: string; sentAt: Date }>,
    tx: EntityManager,
  ): Promise<void> {
    await insertRows(
      tx,
      'mail_outbox',
      [
        'patient_id',
        'portal_token_id',
        'kind',
        'to_address',
        'subject',
        'status',
        'attempts',
        'next_attempt_at',
        'created_at',
        'sent_at',
      ],
      emails.map((e) => {
        const at = toSqlDateTime(e.sentAt);
        return [e.patientId, e.portalTokenId, 'portal_invite', e.to, 'Invitation to the Patient Portal', 'sent', 1, at, at, at];
      }),
    );
  }

  /** Cancels the unsent emails carrying the open (unused, unrevoked) links of these patients, but the link `exceptTokenId`. */
  async cancelUnsentForOpenLinksOf(
    patientIds: number[],
    reason: string,
    tx: EntityManager,
    exceptTokenId?: number,
  ): Promise<void> {
    for (const chunk of chunks(patientIds)) {
      await execute(
        tx,
        `UPDATE mail_outbox SET status = 'cancelled', ${ERASE_BODY}, last_error = ?
          WHERE status = 'pending' AND portal_token_id IN (
            SELECT id FROM portal_tokens WHERE patient_id IN (${placeholders(chunk.length)}) AND representative_account_id IS NULL AND used_at IS NULL AND revoked_at IS NULL${exceptTokenId ? ' AND id <> ?' : ''})`,
        [reason.slice(0, 500), ...chunk, ...(exceptTokenId ? [exceptTokenId] : [])],
      );
    }
  }

  /** Cancels the unsent emails of a representative account's open links (all, or those acting for `patientId`). */
  async cancelUnsentForRepresentativeLinks(
    accountId: number,
    patientId: number | null,
    reason: string,
    tx: EntityManager,
    exceptTokenId?: number,
  ): Promise<void> {
    await execute(
      tx,
      `UPDATE mail_outbox SET status = 'cancelled', ${ERASE_BODY}, last_error = ?
        WHERE status = 'pending' AND portal_token_id IN (
          SELECT id FROM portal_tokens WHERE representative_account_id = ?${patientId ? ' AND patient_id = ?' : ''} AND used_at IS NULL AND revoked_at IS NULL${exceptTokenId ? ' AND id <> ?' : ''})`,
      [reason.slice(0, 500), accountId, ...(patientId ? [patientId] : []), ...(exceptTokenId ? [exceptTokenId] : [])],
    );
  }

  /** Cancels every email still waiting for these patients. */
  async cancelUnsentFor(patientIds: number[], reason: string, tx: EntityManager): Promise<void> {
    for (const chunk of chunks(patientIds)) {
      await execute(
        tx,
        `UPDATE mail_outbox SET status = 'cancelled', ${ERASE_BODY}, last_error = ? WHERE status = 'pending' AND patient_id IN (${placeholders(chunk.length)})`,
        [reason.slice(0, 500), ...chunk],
      );
    }
  }

  /** Waiting emails per patient (patients without any are absent). */
  async countUnsentFor(patientIds: number[], tx: EntityManager = this.dataSource.manager): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const chunk of chunks(patientIds)) {
      const rows: Array<{ patient_id: number | string; n: number | string }> = await tx.query(
        `SELECT patient_id, COUNT(*) AS n FROM mail_outbox WHERE status = 'pending' AND patient_id IN (${placeholders(chunk.length)}) GROUP BY patient_id`,
        chunk,
      );
      rows.forEach((row) => counts.set(Number(row.patient_id), Number(row.n)));
    }
    return counts;
  }

  /** Emails of a bulk batch by status. */
  async countByStatusInBatch(batchId: string, db: EntityManager = this.dataSource.manager): Promise<Map<string, number>> {
    const rows: Array<{ status: string; total: number | string }> = await db.query(
      'SELECT status, COUNT(*) AS total FROM mail_outbox WHERE batch_id = ? GROUP BY status',
      [batchId],
    );
    return new Map(rows.map((row) => [row.status, Number(row.total)]));
  }

  /** The first `limit` failed emails of a batch, in queue order. */
  async failuresInBatch(
    batchId: string,
    limit: number,
    db: EntityManager = this.dataSource.manager,
  ): Promise<Array<{ patientId: number | null; toAddress: string; error: string | null }>> {
    const rows: Array<{ patient_id: number | string | null; to_address: string; last_error: string | null }> = await db.query(
      `SELECT patient_id, to_address, last_error FROM mail_outbox WHERE batch_id = ? AND status = 'failed' ORDER BY id LIMIT ${Math.max(0, Math.floor(limit))}`,
      [batchId],
    );
    return rows.map((row) => ({
      patientId: row.patient_id === null ? null : Number(row.patient_id),
      toAddress: row.to_address,
      error: row.last_error,
    }));
  }

  /** The batch's emails after `afterId`, in queue order, `limit` at a time (the batch report's pages). */
  async batchEmails(batchId: string, afterId: number, limit: number): Promise<BatchEmail[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT m.id, m.patient_id, m.kind, m.to_address, m.status, m.last_error, m.sent_at, p.first_name, p.last_name
         FROM mail_outbox m LEFT JOIN patients p ON p.id = m.patient_id
        WHERE m.batch_id = ? AND m.id > ? ORDER BY m.id LIMIT ${Math.max(1, Math.floor(limit))}`,
      [batchId, afterId],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      patientId: row.patient_id === null ? null : Number(row.patient_id),
      kind: String(row.kind),
      toAddress: String(row.to_address),
      status: String(row.status),
      lastError: (row.last_error as string | null) ?? null,
      sentAt: fromSqlDateTime(row.sent_at as Date | string | null),
      firstName: (row.first_name as string | null) ?? null,
      lastName: (row.last_name as string | null) ?? null,
    }));
  }

  /** One patient's latest emails whose kind starts with `kindPrefix` (e.g. the account notices), newest first. */
  async latestWithKindPrefix(
    patientId: number,
    kindPrefix: string,
    limit: number,
    /** Also rows of no patient sent to one of these addresses (a representative's own account). */
    alsoTo: string[] = [],
  ): Promise<Array<{ kind: string; to: string; status: string; createdAt: Date; sentAt: Date | null }>> {
    const addresses = [...new Set(alsoTo)];
    const whose = addresses.length
      ? `(patient_id = ? OR (patient_id IS NULL AND to_address IN (${placeholders(addresses.length)})))`
      : 'patient_id = ?';
    const rows: Array<{
      kind: string;
      to_address: string;
      status: string;
      created_at: Date | string;
      sent_at: Date | string | null;
    }> = await this.dataSource.query(
      `SELECT kind, to_address, status, created_at, sent_at FROM mail_outbox WHERE ${whose} AND kind ${LIKE}
          ORDER BY id DESC LIMIT ${Math.max(0, Math.floor(limit))}`,
      [patientId, ...addresses, likePrefix(kindPrefix)],
    );
    return rows.map((row) => ({
      kind: row.kind,
      to: row.to_address,
      status: row.status,
      createdAt: fromSqlDateTime(row.created_at)!,
      sentAt: fromSqlDateTime(row.sent_at),
    }));
  }

  /** Each patient's latest email of one of `kinds`, with the expiry of the link it carried. */
  async latestOfKinds(
    patientIds: number[],
    kinds: string[],
    db: EntityManager = this.dataSource.manager,
  ): Promise<OutboxLatest[]> {
    if (patientIds.length === 0 || kinds.length === 0) return [];
    const rows: Array<{
      patient_id: number | string;
      kind: string;
      status: string;
      created_at: Date | string;
      sent_at: Date | string | null;
      expires_at: Date | string | null;
      opened_at: Date | string | null;
      used_at: Date | string | null;
      revoked_at: Date | string | null;
      revoked_reason: string | null;
      failed_at: Date | string | null;
      bounced_at: Date | string | null;
      bounce_kind: string | null;
    }> = await db.query(
      `SELECT o.patient_id, o.kind, o.status, o.created_at, o.sent_at, o.failed_at, o.bounced_at, o.bounce_kind,
              t.expires_at, t.opened_at, t.used_at, t.revoked_at, t.revoked_reason
         FROM mail_outbox o
         LEFT JOIN portal_tokens t ON t.id = o.portal_token_id
        WHERE o.id IN (SELECT MAX(m.id) FROM mail_outbox m WHERE m.patient_id IN (${placeholders(patientIds.length)}) AND m.kind IN (${placeholders(kinds.length)}) GROUP BY m.patient_id)`,
      [...patientIds, ...kinds],
    );
    return rows.map((row) => ({
      patientId: Number(row.patient_id),
      kind: row.kind,
      status: row.status,
      createdAt: fromSqlDateTime(row.created_at)!,
      sentAt: fromSqlDateTime(row.sent_at),
      linkExpiresAt: fromSqlDateTime(row.expires_at),
      linkOpenedAt: fromSqlDateTime(row.opened_at),
      linkUsedAt: fromSqlDateTime(row.used_at),
      linkRevokedAt: fromSqlDateTime(row.revoked_at),
      linkRevokedReason: row.revoked_reason ?? null,
      failedAt: fromSqlDateTime(row.failed_at),
      bouncedAt: fromSqlDateTime(row.bounced_at),
      bounceKind: row.bounce_kind ?? null,
    }));
  }

  /**
   * Reserves up to `limit` due rows for `claimId` until `lease`: pending ones whose time has come (by `dueBy`), and
   * 'sending' ones whose lease ran out (their sender crashed). Counts the attempt. Short transaction; sending happens after.
   */
  async claimDue(claimId: string, lease: Date, dueBy: Date, limit: number): Promise<ClaimedEmail[]> {
    const nowSql = toSqlDateTime(dueBy);
    const leaseSql = toSqlDateTime(lease);
    const due = `((status = 'pending' AND next_attempt_at <= ?) OR (status = 'sending' AND claimed_until < ?))`;
    const claimSet = `status = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1`;
    let rows: ClaimedEmail[] = [];
    if (isSqliteManager(this.dataSource)) {
      // One statement is atomic on SQLite, and this process is its only sender; it hands back the claimed rows whole.
      rows = await this.dataSource.query(
        `UPDATE mail_outbox SET ${claimSet} WHERE id IN (SELECT id FROM mail_outbox WHERE ${due} ORDER BY next_attempt_at, id LIMIT ?) RETURNING ${CLAIMED_COLUMNS}`,
        [claimId, leaseSql, nowSql, nowSql, limit],
      );
    } else {
      // On Galera row locks are per node: a sender on another node may claim the same rows, and the
      // later commit fails with 1213. Those rows are someone else's; the retry claims what is left.
      await runInTransaction(this.dataSource, 'READ COMMITTED', async (tx) => {
        // Two index ranges instead of one OR, so InnoDB locks only the rows it hands out. The locking reads
        // fetch the rows whole (no second read after the claim); the UPDATE below is what they then hold.
        const expired: ClaimedEmail[] = await tx.query(
          `SELECT ${CLAIMED_COLUMNS} FROM mail_outbox WHERE status = 'sending' AND claimed_until < ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [nowSql, limit],
        );
        const pending: ClaimedEmail[] =
          expired.length < limit
            ? await tx.query(
                `SELECT ${CLAIMED_COLUMNS} FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
                [nowSql, limit - expired.length],
              )
            : [];
        const locked = [...expired, ...pending];
        if (locked.length)
          await tx.query(`UPDATE mail_outbox SET ${claimSet} WHERE id IN (${placeholders(locked.length)})`, [
            claimId,
            leaseSql,
            ...locked.map((row) => row.id),
          ]);
        rows = locked.map((row) => ({ ...row, attempts: Number(row.attempts) + 1, claimed_by: claimId }));
      });
    }
    return rows.map((row) => ({
      ...row,
      id: String(row.id),
      patient_id: row.patient_id === null ? null : Number(row.patient_id),
      attempts: Number(row.attempts),
    }));
  }

  /** Pushes the leases of rows still held under these claims to `lease`. */
  async renewLeases(claimIds: string[], lease: Date): Promise<void> {
    if (claimIds.length === 0) return;
    await withConflictRetry(() =>
      this.dataSource.query(
        `UPDATE mail_outbox SET claimed_until = ? WHERE status = 'sending' AND claimed_by IN (${placeholders(claimIds.length)})`,
        [toSqlDateTime(lease), ...claimIds],
      ),
    );
  }

  /** Hands a claimed row back to the queue untouched (its attempt not counted). */
  async release(id: string, claimId: string): Promise<void> {
    await withConflictRetry(() =>
      this.dataSource.query(
        "UPDATE mail_outbox SET status = 'pending', claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1 WHERE id = ? AND claimed_by = ? AND status = 'sending'",
        [id, claimId],
      ),
    );
  }

  /**
   * Marks rows 'sent' (bodies erased) where they still carry `claimId`; returns the ids this claim marked — a row
   * another sender took over is that sender's to mark.
   */
  async markSent(ids: string[], claimId: string, sentAt: Date, tx: EntityManager): Promise<Set<string>> {
    const at = toSqlDateTime(sentAt);
    const changed = await execute(
      tx,
      `UPDATE mail_outbox SET status = 'sent', sent_at = ?, ${ERASE_BODY}, claimed_until = NULL, last_error = NULL
        WHERE id IN (${placeholders(ids.length)}) AND status = 'sending' AND claimed_by = ?`,
      [at, ...ids, claimId],
    );
    const mine =
      changed === ids.length
        ? new Set(ids)
        : new Set(
            (
              (await tx.query(
                `SELECT id FROM mail_outbox WHERE id IN (${placeholders(ids.length)}) AND status = 'sent' AND claimed_by = ? AND sent_at = ?`,
                [...ids, claimId, at],
              )) as Array<{ id: string | number }>
            ).map((row) => String(row.id)),
          );
    if (mine.size) await this.funnel.emailsDelivered([...mine], 1, tx);
    return mine;
  }

  /** Back to 'pending', due at `retryAt`, if the row still carries `claimId`. */
  async scheduleRetry(id: string, claimId: string, retryAt: Date, reason: string): Promise<void> {
    await withConflictRetry(() =>
      this.dataSource.query(
        "UPDATE mail_outbox SET status = 'pending', next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL, last_error = ? WHERE id = ? AND claimed_by = ? AND status = 'sending'",
        [toSqlDateTime(retryAt), reason, id, claimId],
      ),
    );
  }

  /**
   * Records a delivery status notification for an email: a hard bounce marks it 'bounced'; a soft one
   * (delayed, mailbox full) is kept as detail only. Returns the email's patient and address, or null
   * when no such email exists.
   */
  async recordBounce(
    id: string,
    kind: 'hard' | 'soft',
    detail: string,
    at: Date,
    tx: EntityManager,
  ): Promise<{ patientId: number | null; toAddress: string; kind: string } | null> {
    // Locked: whether a hard bounce takes back a delivered email depends on the status it replaces.
    const [row]: Array<{ patient_id: number | string | null; to_address: string; kind: string; status: string }> = await tx.query(
      `SELECT patient_id, to_address, kind, status FROM mail_outbox WHERE id = ?${forUpdate(tx)}`,
      [id],
    );
    if (!row) return null;
    await tx.query(
      `UPDATE mail_outbox SET bounced_at = ?, bounce_kind = ?, bounce_detail = ?${kind === 'hard' ? ", status = 'bounced'" : ''} WHERE id = ?`,
      [toSqlDateTime(at), kind, detail.slice(0, 500), id],
    );
    if (kind === 'hard' && row.status === 'sent') await this.funnel.emailsDelivered([id], -1, tx);
    return { patientId: row.patient_id === null ? null : Number(row.patient_id), toAddress: row.to_address, kind: row.kind };
  }

  /** Gives up on a row (body erased), if it still carries `claimId`. */
  async markFailed(id: string, claimId: string, reason: string, tx: EntityManager): Promise<void> {
    await tx.query(
      `UPDATE mail_outbox SET status = 'failed', ${ERASE_BODY}, claimed_until = NULL, last_error = ?, failed_at = ? WHERE id = ? AND claimed_by = ? AND status = 'sending'`,
      [reason, toSqlDateTime(new Date()), id, claimId],
    );
  }
}
