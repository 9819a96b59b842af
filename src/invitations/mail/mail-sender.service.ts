import { MailerService } from '@nestjs-modules/mailer';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { SYSTEM_CONTEXT } from '../../audit/audit-context';
import { AuditEntry, AuditService } from '../../audit/audit.service';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { isSqliteManager, placeholders, toSqlDateTime } from '../../database/sql';
import { describeFailure, isPermanentFailure, SendError } from './smtp-errors';
import { runInTransaction, withConflictRetry } from '../../database/transactions';

interface ClaimedEmail {
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

export interface DrainResult {
  sent: number;
  retried: number;
  failed: number;
}

/** Rows claimed per round by one worker. */
const CLAIM_BATCH = 200;
/** Sent rows are marked in groups: at most this many, or after FLUSH_MS. */
const FLUSH_ROWS = 50;
const FLUSH_MS = 20;
const MAX_BACKOFF_MS = 3_600_000;


/**
 * Drains mail_outbox. Delivery is at-least-once: a row is claimed (status 'sending' with a
 * lease), sent, then marked 'sent' with its body erased. On MySQL/MariaDB several
 * instances claim disjoint rows with FOR UPDATE SKIP LOCKED; a lease left by a crashed
 * instance is taken over once it expires. The crash window — emails the SMTP server
 * accepted but whose 'sent' mark had not committed — is at most the in-flight messages
 * plus the group being written and the one filling (≈ SMTP_POOL_SIZE + 2 × 50 emails); only those can go out twice.
 */
@Injectable()
export class MailSenderService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MailSender');
  readonly instanceId = `${hostname().slice(0, 30)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private claimRound = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  private readonly sentBuffer: Array<{ email: ClaimedEmail; at: Date }> = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly sqlite: boolean;
  /** Sends handed to the mailer and not finished; the rest of a claimed group waits for a slot. */
  private inFlight = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private stopping = false;
  /**
   * Set when a 'sent' mark could not be written (this instance's database node died): the rest of the
   * claimed emails are not sent, since their marks could not be written either and another sender
   * takes them over when their lease ends. Cleared by the next successful claim.
   */
  private markingFails = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly mailer: MailerService,
    private readonly audit: AuditService,
  ) {
    this.sqlite = isSqliteManager(dataSource);
  }

  onApplicationBootstrap(): void {
    if (this.config.mailSenderEnabled) this.start();
  }

  /**
   * Stops before anything closes: onModuleDestroy runs for this module before the global
   * mailer module closes its SMTP pool (Nest destroys global modules last), so the emails in
   * flight finish on a live pool instead of failing and burning an attempt.
   */
  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  /** SQLite has one writer: one worker. MySQL/MariaDB: a few workers keep the SMTP pool busy. */
  private get workers(): number {
    return this.sqlite ? 1 : 4;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    if (!this.config.smtpUrl) this.logger.log(`No SMTP_URL: emails are written to ${this.config.mailDir}`);
    this.loops = Array.from({ length: this.workers }, () => this.pollLoop());
  }

  /**
   * Stops claiming; emails already handed to SMTP finish (at most `SHUTDOWN_TIMEOUT_MS`);
   * claimed emails not yet handed over go back to pending without using up an attempt.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    for (const wake of this.wakers) wake();
    for (const wake of this.slotWaiters.splice(0)) wake();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.loops).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.config.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) this.logger.warn(`Emails still in flight after ${this.config.shutdownTimeoutMs} ms; another sender takes them over when their lease ends`);
    this.loops = [];
    await this.flushSent();
    // Stopped for good: drainOnce() (tests, CLI) may send again. Timed out: loops still running keep handing emails back.
    if (finished) this.stopping = false;
  }

  /** Sends everything due now (tests, CLI); returns when a claim finds nothing. */
  async drainOnce(): Promise<DrainResult> {
    const total: DrainResult = { sent: 0, retried: 0, failed: 0 };
    // Emails retried during this call come due after it started, so they wait for the next call.
    const dueBy = new Date();
    await Promise.all(
      Array.from({ length: this.workers }, async () => {
        for (;;) {
          const result = await this.round(dueBy);
          if (!result) break;
          total.sent += result.sent;
          total.retried += result.retried;
          total.failed += result.failed;
        }
      }),
    );
    await this.flushSent();
    return total;
  }

  private async pollLoop(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        worked = (await this.round()) !== null;
      } catch (error) {
        this.logger.error(`Outbox round failed: ${(error as Error).message}`);
      }
      if (!worked && this.running) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.wakers.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, this.config.mailPollMs);
          this.wakers.add(wake);
        });
      }
    }
  }

  /** Claims, sends and records one group; null when nothing was due. */
  private async round(dueBy = new Date()): Promise<DrainResult | null> {
    const emails = await this.claim(dueBy);
    if (emails.length === 0) return null;
    const outcomes = await Promise.all(emails.map((email) => this.deliver(email)));
    await this.unclaim(emails.filter((_, i) => outcomes[i] === 'released'));
    // The 'sent' marks are committed in groups in the background (queueSent): the next claim waits
    // only for a group already being written, which bounds the crash window to about two groups.
    await this.flushing;
    return {
      sent: outcomes.filter((o) => o === 'sent').length,
      retried: outcomes.filter((o) => o === 'retried').length,
      failed: outcomes.filter((o) => o === 'failed').length,
    };
  }

  /**
   * Reserves due rows for this round: pending ones whose time has come, and 'sending' ones
   * whose lease ran out (their sender crashed). Short transaction; the send happens after it.
   */
  private async claim(dueBy: Date): Promise<ClaimedEmail[]> {
    const now = new Date();
    const nowSql = toSqlDateTime(dueBy);
    const claimId = `${this.instanceId}#${++this.claimRound}`;
    const leaseSql = toSqlDateTime(new Date(now.getTime() + this.config.mailClaimLeaseSeconds * 1000));
    const due = `((status = 'pending' AND next_attempt_at <= ?) OR (status = 'sending' AND claimed_until < ?))`;
    const claimSet = `status = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1`;

    let ids: string[] = [];
    if (this.sqlite) {
      // One statement is atomic on SQLite, and this process is its only sender.
      const claimed: Array<{ id: number }> = await this.dataSource.query(
        `UPDATE mail_outbox SET ${claimSet} WHERE id IN (SELECT id FROM mail_outbox WHERE ${due} ORDER BY next_attempt_at, id LIMIT ?) RETURNING id`,
        [claimId, leaseSql, nowSql, nowSql, CLAIM_BATCH],
      );
      ids = claimed.map((row) => String(row.id));
    } else {
      // On Galera row locks are per node: a sender on another node may claim the same rows, and the
      // later commit fails with 1213. Those rows are someone else's; the retry claims what is left.
      await runInTransaction(this.dataSource, 'READ COMMITTED', async (tx) => {
        // Two index ranges instead of one OR, so InnoDB locks only the rows it hands out.
        const expired: Array<{ id: string }> = await tx.query(
          "SELECT id FROM mail_outbox WHERE status = 'sending' AND claimed_until < ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
          [nowSql, CLAIM_BATCH],
        );
        const pending: Array<{ id: string }> =
          expired.length < CLAIM_BATCH
            ? await tx.query("SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED", [
                nowSql,
                CLAIM_BATCH - expired.length,
              ])
            : [];
        ids = [...expired, ...pending].map((row) => String(row.id));
        if (ids.length) await tx.query(`UPDATE mail_outbox SET ${claimSet} WHERE id IN (${placeholders(ids.length)})`, [claimId, leaseSql, ...ids]);
      });
    }
    this.markingFails = false;
    if (ids.length === 0) return [];
    const rows: ClaimedEmail[] = await this.dataSource.query(
      `SELECT id, batch_id, patient_id, kind, to_address, subject, text_body, html_body, attempts, claimed_by FROM mail_outbox WHERE id IN (${placeholders(ids.length)}) AND claimed_by = ?`,
      [...ids, claimId],
    );
    return rows.map((row) => ({ ...row, id: String(row.id), attempts: Number(row.attempts) }));
  }

  /** Waits for a free sending slot; false when the sender is stopping (the email is handed back instead). */
  private async sendSlot(): Promise<boolean> {
    // Twice the pool: the pool never runs dry, and only a few emails are queued inside the mailer at a stop.
    const slots = this.config.smtpUrl ? 2 * this.config.smtpPoolSize : 50;
    while (!this.stopping && this.inFlight >= slots) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    if (this.stopping) return false;
    this.inFlight++;
    return true;
  }

  private freeSlot(): void {
    this.inFlight--;
    this.slotWaiters.shift()?.();
  }

  /** Claimed emails a stopping sender never handed to SMTP: back to pending, the attempt given back. */
  private async unclaim(emails: ClaimedEmail[]): Promise<void> {
    if (emails.length === 0) return;
    await withConflictRetry(() => this.dataSource.query(
      `UPDATE mail_outbox SET status = 'pending', claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1 WHERE id IN (${placeholders(emails.length)}) AND claimed_by = ? AND status = 'sending'`,
      [...emails.map((email) => email.id), emails[0].claimed_by],
    ));
  }

  private async deliver(email: ClaimedEmail): Promise<'sent' | 'retried' | 'failed' | 'released'> {
    if (this.markingFails || !(await this.sendSlot())) return 'released';
    if (this.markingFails) {
      this.freeSlot();
      return 'released';
    }
    try {
      const info = await this.mailer.sendMail({
        to: email.to_address.replace(/[\r\n]/g, ''),
        subject: email.subject,
        text: email.text_body ?? '',
        html: email.html_body ?? undefined,
        // Stable per outbox row: a receiver can spot the rare duplicate from the crash window.
        messageId: `<outbox-${email.id}@${new URL(this.config.publicBaseUrl).hostname}>`,
      });
      if (!this.config.smtpUrl) this.writeEml(email, (info as { message: Buffer }).message);
      this.queueSent(email);
      return 'sent';
    } catch (error) {
      return this.recordFailure(email, error as SendError);
    } finally {
      this.freeSlot();
    }
  }

  private writeEml(email: ClaimedEmail, message: Buffer): void {
    mkdirSync(this.config.mailDir, { recursive: true, mode: 0o700 });
    const file = join(this.config.mailDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-outbox-${email.id}.eml`);
    writeFileSync(file, message, { mode: 0o600 });
    this.logger.log(`Email #${email.id} (${email.kind}) written to ${file}`);
  }

  private queueSent(email: ClaimedEmail): void {
    this.sentBuffer.push({ email, at: new Date() });
    if (this.sentBuffer.length >= FLUSH_ROWS) void this.flushSent().catch(() => undefined);
    else this.flushTimer ??= setTimeout(() => void this.flushSent().catch(() => undefined), FLUSH_MS);
  }

  /** Marks buffered sends 'sent' (bodies erased) with their audit rows, one transaction per group. */
  private flushSent(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      const group = this.sentBuffer.splice(0, this.sentBuffer.length);
      if (group.length === 0) return;
      const sentAt = toSqlDateTime(group[group.length - 1].at);
      try {
        await runInTransaction(this.dataSource, async (tx) => {
          // Only rows still under this sender's claim: one whose lease ran out and that another round took
          // over is marked (and audited) by that round, so each email has one 'mail.sent' row.
          const claims = [...new Set(group.map((item) => item.email.claimed_by))];
          const held: Array<{ id: number | string }> = await tx.query(
            `SELECT id FROM mail_outbox WHERE id IN (${placeholders(group.length)}) AND status = 'sending' AND claimed_by IN (${placeholders(claims.length)})${this.sqlite ? '' : ' FOR UPDATE'}`,
            [...group.map((item) => item.email.id), ...claims],
          );
          const heldIds = new Set(held.map((row) => String(row.id)));
          const marked = [...new Map(group.filter(({ email }) => heldIds.has(email.id)).map(({ email }) => [email.id, email])).values()];
          if (marked.length === 0) return;
          await tx.query(
            `UPDATE mail_outbox SET status = 'sent', sent_at = ?, text_body = NULL, html_body = NULL, claimed_until = NULL, last_error = NULL WHERE id IN (${placeholders(marked.length)})`,
            [sentAt, ...marked.map((email) => email.id)],
          );
          await this.audit.recordMany(SYSTEM_CONTEXT, marked.map((email) => auditEntry('mail.sent', email)), tx);
        });
      } catch (error) {
        this.markingFails = true;
        // The lease runs out and the emails are sent again: the documented crash window.
        this.logger.error(`Could not mark ${group.length} emails as sent: ${(error as Error).message}`);
      }
    });
    return this.flushing;
  }

  private async recordFailure(email: ClaimedEmail, error: SendError): Promise<'retried' | 'failed'> {
    const reason = describeFailure(error);
    if (!isPermanentFailure(error) && email.attempts < this.config.mailMaxAttempts) {
      const delay = Math.min(this.config.mailRetryBaseMs * 2 ** (email.attempts - 1), MAX_BACKOFF_MS) * (0.9 + Math.random() * 0.2);
      // DATETIME has whole seconds: round up, so a retry is never due before its delay.
      const retryAt = new Date(Math.ceil((Date.now() + delay) / 1000) * 1000);
      await withConflictRetry(() => this.dataSource.query(
        "UPDATE mail_outbox SET status = 'pending', next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL, last_error = ? WHERE id = ? AND claimed_by = ? AND status = 'sending'",
        [toSqlDateTime(retryAt), reason, email.id, email.claimed_by],
      ));
      this.logger.warn(`Email #${email.id} not sent (attempt ${email.attempts}), retrying in ${Math.round(delay / 1000)} s: ${reason}`);
      return 'retried';
    }
    await runInTransaction(this.dataSource, async (tx) => {
      await tx.query(
        "UPDATE mail_outbox SET status = 'failed', text_body = NULL, html_body = NULL, claimed_until = NULL, last_error = ? WHERE id = ? AND claimed_by = ? AND status = 'sending'",
        [reason, email.id, email.claimed_by],
      );
      await this.audit.record(SYSTEM_CONTEXT, { ...auditEntry('mail.failed', email), outcome: 'failure', details: { outboxId: email.id, kind: email.kind, attempts: email.attempts, reason } }, tx);
    });
    this.logger.warn(`Email #${email.id} failed after ${email.attempts} attempt(s): ${reason}`);
    return 'failed';
  }
}

function auditEntry(action: string, email: ClaimedEmail): AuditEntry {
  return { action, patientId: email.patient_id === null ? null : Number(email.patient_id), batchId: email.batch_id, details: { outboxId: email.id, kind: email.kind } };
}
