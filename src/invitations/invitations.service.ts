import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditEntry, AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { chunks, fromSqlDateTime, insertRows, isSqliteManager, placeholders, toSqlDateTime } from '../database/sql';
import type { PortalTokenPurpose } from './entities/portal-token.entity';
import { InviteEmailRenderer } from './invite-email.renderer';
import type { BatchProgress, InviteSkipReason, InviteSummary, LatestInvite } from './invitations.types';
import { PortalTokensService } from './portal-tokens.service';
import { hashToken, newRawToken } from './tokens';
import { runInTransaction } from '../database/transactions';

/** mail_outbox.kind of the two portal emails. */
export const MAIL_KIND: Record<PortalTokenPurpose, string> = { invite: 'portal_invite', reset: 'portal_reset' };

/**
 * A double click (or a retried request) must not send two emails: a patient who got a
 * link of the same purpose, to the same address, within this window and still unused,
 * is answered with that link's email instead of a new one.
 */
export const REPEAT_WINDOW_MS = 10_000;

interface Candidate {
  id: number;
  firstName: string;
  email: string | null;
  accessEnabled: boolean;
  username: string | null;
}

interface Plan {
  summary: InviteSummary;
  /** Patients who get an email, with the purpose decided by whether they have a username. */
  eligible: Array<Candidate & { email: string; purpose: PortalTokenPurpose }>;
}


/**
 * Invites and password-reset emails for one patient or thousands: tokens, status,
 * outbox rows and audit rows are written in one transaction, set-based (no round trip
 * per patient); the MailSenderService delivers them after commit.
 */
@Injectable()
export class InvitationsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly tokens: PortalTokensService,
    private readonly renderer: InviteEmailRenderer,
    private readonly audit: AuditService,
  ) {}

  /** What sendInvites would do, writing nothing (the bulk confirmation). */
  async previewInvites(patientIds: number[]): Promise<InviteSummary> {
    const ids = uniqueIds(patientIds);
    return plan(ids, await this.loadCandidates(this.dataSource.manager, ids, false), null).summary;
  }

  async sendInvites(patientIds: number[], context: AuditContext, options: { bulk?: boolean } = {}): Promise<InviteSummary> {
    const ids = uniqueIds(patientIds);
    const now = new Date();
    const nowSql = toSqlDateTime(now);
    return runInTransaction(this.dataSource, async (tx) => {
      // Locks the patients' rows (MySQL/MariaDB) so two clicks at once queue one email.
      const candidates = await this.loadCandidates(tx, ids, true);
      const batchId = options.bulk ? randomUUID() : null;
      const { summary, eligible } = plan(ids, candidates, batchId);

      const repeats = await this.recentLinks(tx, eligible, now);
      const fresh = eligible.filter((patient) => repeats.get(patient.id) !== patient.purpose);
      summary.repeated = eligible.length - fresh.length;

      if (batchId) await this.recordBatch(tx, batchId, summary, context, nowSql);
      const freshIds = fresh.map((patient) => patient.id);
      await this.tokens.revokeTokensOf(tx, freshIds, 'superseded', now);

      const staffId = context.actorType === 'staff' ? context.actorId : null;
      const issued = fresh.map((patient) => {
        const raw = newRawToken();
        const hours = patient.purpose === 'invite' ? this.config.inviteTtlHours : this.config.resetTtlHours;
        return { patient, raw, hash: hashToken(raw), expiresAt: toSqlDateTime(new Date(now.getTime() + hours * 3_600_000)) };
      });
      await insertRows(
        tx,
        'portal_tokens',
        ['patient_id', 'purpose', 'token_hash', 'sent_to', 'created_by_staff_id', 'created_at', 'expires_at'],
        issued.map((t) => [t.patient.id, t.patient.purpose, t.hash, t.patient.email, staffId, nowSql, t.expiresAt]),
      );
      const tokenIds = await this.tokenIdsByHash(tx, issued.map((t) => t.hash));

      for (const chunk of chunks(freshIds)) {
        await tx.query(
          `UPDATE portal_accounts SET invited_at = COALESCE(invited_at, ?), updated_at = ?, version = version + 1 WHERE patient_id IN (${placeholders(chunk.length)})`,
          [nowSql, nowSql, ...chunk],
        );
      }
      await insertRows(
        tx,
        'mail_outbox',
        ['batch_id', 'patient_id', 'portal_token_id', 'kind', 'to_address', 'subject', 'text_body', 'html_body', 'status', 'attempts', 'next_attempt_at', 'created_at'],
        issued.map((t) => {
          const email = this.renderer.render(t.patient.purpose, t.patient.firstName, t.raw);
          return [batchId, t.patient.id, tokenIds.get(t.hash), MAIL_KIND[t.patient.purpose], t.patient.email, email.subject, email.text, email.html, 'pending', 0, nowSql, nowSql];
        }),
        200,
      );

      const entries: AuditEntry[] = eligible.map((patient) => ({
        action: patient.purpose === 'invite' ? 'portal.invite_issued' : 'portal.reset_issued',
        patientId: patient.id,
        batchId,
        details: repeats.get(patient.id) === patient.purpose ? { repeatedWithin: `${REPEAT_WINDOW_MS / 1000}s`, emailQueued: false } : { emailQueued: true },
      }));
      for (const [reason, skippedIds] of Object.entries(summary.skippedIds) as Array<[InviteSkipReason, number[]]>) {
        for (const patientId of skippedIds) entries.push({ action: 'portal.invite_skipped', outcome: 'denied', patientId, batchId, details: { reason } });
      }
      await this.audit.recordMany(context, entries, tx);
      return summary;
    });
  }

  async batchProgress(batchId: string): Promise<BatchProgress> {
    const db = this.dataSource.manager;
    const [batch] = await db.query('SELECT id FROM bulk_batches WHERE id = ?', [batchId]);
    if (!batch) throw new NotFoundException('That batch does not exist.');
    const counts: Array<{ status: string; total: number | string }> = await db.query('SELECT status, COUNT(*) AS total FROM mail_outbox WHERE batch_id = ? GROUP BY status', [batchId]);
    const count = (status: string) => Number(counts.find((row) => row.status === status)?.total ?? 0);
    const failures: Array<{ patient_id: number | null; to_address: string; last_error: string | null }> = await db.query(
      "SELECT patient_id, to_address, last_error FROM mail_outbox WHERE batch_id = ? AND status = 'failed' ORDER BY id LIMIT 50",
      [batchId],
    );
    const pending = count('pending') + count('sending');
    const progress = { batchId, pending, sent: count('sent'), failed: count('failed') };
    return {
      ...progress,
      total: progress.pending + progress.sent + progress.failed,
      failures: failures.map((row) => ({ patientId: row.patient_id === null ? null : Number(row.patient_id), toAddress: row.to_address, error: row.last_error })),
      done: pending === 0,
    };
  }

  /** Delivery state of each patient's latest invite/reset email, in one query (for ≤ 50 onboarding rows). */
  async latestInvites(patientIds: number[]): Promise<Map<number, LatestInvite>> {
    const ids = uniqueIds(patientIds);
    const result = new Map<number, LatestInvite>();
    if (ids.length === 0) return result;
    const rows: Array<{ patient_id: number; kind: string; status: string; created_at: Date | string; sent_at: Date | string | null; expires_at: Date | string | null }> =
      await this.dataSource.query(
        `SELECT o.patient_id, o.kind, o.status, o.created_at, o.sent_at, t.expires_at
           FROM mail_outbox o
           LEFT JOIN portal_tokens t ON t.id = o.portal_token_id
          WHERE o.id IN (SELECT MAX(m.id) FROM mail_outbox m WHERE m.patient_id IN (${placeholders(ids.length)}) AND m.kind IN (?, ?) GROUP BY m.patient_id)`,
        [...ids, MAIL_KIND.invite, MAIL_KIND.reset],
      );
    for (const row of rows) {
      const patientId = Number(row.patient_id);
      result.set(patientId, {
        patientId,
        purpose: row.kind === MAIL_KIND.reset ? 'reset' : 'invite',
        delivery: row.status === 'sent' || row.status === 'failed' || row.status === 'cancelled' ? row.status : 'queued',
        createdAt: fromSqlDateTime(row.created_at)!,
        sentAt: fromSqlDateTime(row.sent_at),
        expiresAt: fromSqlDateTime(row.expires_at) ?? fromSqlDateTime(row.created_at)!,
      });
    }
    return result;
  }

  private async loadCandidates(db: EntityManager, ids: number[], lock: boolean): Promise<Map<number, Candidate>> {
    const found = new Map<number, Candidate>();
    const forUpdate = lock && !isSqliteManager(db) ? ' FOR UPDATE' : '';
    for (const chunk of chunks(ids)) {
      const rows: Array<{ id: number; first_name: string; email: string | null; access_enabled: number | boolean | null; username: string | null }> = await db.query(
        `SELECT p.id, p.first_name, p.email, pa.access_enabled, pa.username
           FROM patients p LEFT JOIN portal_accounts pa ON pa.patient_id = p.id
          WHERE p.id IN (${placeholders(chunk.length)})${forUpdate}`,
        chunk,
      );
      for (const row of rows) {
        found.set(Number(row.id), {
          id: Number(row.id),
          firstName: row.first_name,
          email: row.email && row.email.trim() ? row.email : null,
          accessEnabled: Number(row.access_enabled ?? 0) === 1,
          username: row.username,
        });
      }
    }
    return found;
  }

  /** Unused links issued within REPEAT_WINDOW_MS to the patient's current address, by patient. */
  private async recentLinks(tx: EntityManager, eligible: Plan['eligible'], now: Date): Promise<Map<number, PortalTokenPurpose>> {
    const recent = new Map<number, PortalTokenPurpose>();
    const emailOf = new Map(eligible.map((patient) => [patient.id, patient.email]));
    const since = toSqlDateTime(new Date(now.getTime() - REPEAT_WINDOW_MS));
    for (const chunk of chunks([...emailOf.keys()])) {
      const rows: Array<{ patient_id: number; purpose: PortalTokenPurpose; sent_to: string }> = await tx.query(
        `SELECT patient_id, purpose, sent_to FROM portal_tokens
          WHERE patient_id IN (${placeholders(chunk.length)}) AND created_at >= ? AND used_at IS NULL AND revoked_at IS NULL`,
        [...chunk, since],
      );
      for (const row of rows) if (emailOf.get(Number(row.patient_id)) === row.sent_to) recent.set(Number(row.patient_id), row.purpose);
    }
    return recent;
  }

  private async tokenIdsByHash(tx: EntityManager, hashes: string[]): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    for (const chunk of chunks(hashes)) {
      const rows: Array<{ id: number; token_hash: string }> = await tx.query(`SELECT id, token_hash FROM portal_tokens WHERE token_hash IN (${placeholders(chunk.length)})`, chunk);
      for (const row of rows) ids.set(row.token_hash, Number(row.id));
    }
    return ids;
  }

  private async recordBatch(tx: EntityManager, batchId: string, summary: InviteSummary, context: AuditContext, nowSql: string): Promise<void> {
    const skipped = Object.values(summary.skipped).reduce((sum, n) => sum + (n ?? 0), 0);
    await tx.query(
      'INSERT INTO bulk_batches (id, action, created_by_staff_id, created_at, requested_count, queued_count, skipped_count, skipped_reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [batchId, 'invite', context.actorType === 'staff' ? context.actorId : null, nowSql, summary.requested, summary.invites + summary.resets - (summary.repeated ?? 0), skipped, JSON.stringify(summary.skipped)],
    );
  }
}

function uniqueIds(patientIds: number[]): number[] {
  return [...new Set(patientIds.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0))];
}

/** Who gets which email and who is skipped (and why); the rule shared by preview and send. */
function plan(ids: number[], candidates: Map<number, Candidate>, batchId: string | null): Plan {
  const summary: InviteSummary = { batchId, requested: ids.length, invites: 0, resets: 0, skipped: {}, skippedIds: {}, repeated: 0 };
  const eligible: Plan['eligible'] = [];
  const skip = (reason: InviteSkipReason, id: number) => {
    summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
    (summary.skippedIds[reason] ??= []).push(id);
  };
  for (const id of ids) {
    const patient = candidates.get(id);
    if (!patient) skip('unknown_patient', id);
    else if (!patient.accessEnabled) skip('not_enabled', id);
    else if (!patient.email) skip('no_email', id);
    else {
      const purpose: PortalTokenPurpose = patient.username ? 'reset' : 'invite';
      if (purpose === 'invite') summary.invites++;
      else summary.resets++;
      eligible.push({ ...patient, email: patient.email, purpose });
    }
  }
  return { summary, eligible };
}
