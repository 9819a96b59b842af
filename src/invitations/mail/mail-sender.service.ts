import { MailerService } from '@nestjs-modules/mailer';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { DataSource } from 'typeorm';
import { SYSTEM_CONTEXT } from '../../audit/audit-context';
import { AuditEntry, AuditService } from '../../audit/audit.service';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { isSqliteManager } from '../../database/sql';
import { runInTransaction } from '../../database/transactions';
import { ClaimedEmail, MailOutboxRepository } from '../outbox.repository';
import { describeFailure, isPermanentFailure, SendError } from './smtp-errors';
import { Verp } from './verp';
import { LOGO_CID } from '../email-templates';

export interface DrainResult {
  sent: number;
  retried: number;
  failed: number;
}

/** Most rows claimed per round by one worker (a fast relay). */
const CLAIM_BATCH = 200;
/**
 * A round claims only what this worker sent, at its measured rate, in this share of the lease;
 * the lease is also renewed every quarter of it while the round runs, and an email whose lease
 * could run out before its SMTP transaction ends is handed back instead of sent. So a slow
 * relay never lets a claim expire under a living sender (the outside review: duplicates with
 * a relay slower than ~7 messages/s).
 */
const LEASE_SHARE = 0.25;
/** An email is sent only while at least this share of the lease is known to be left; leases are renewed as often. */
const SEND_MARGIN_SHARE = 0.25;
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
  /** Emails per second one worker's round achieved recently; null until measured. */
  private workerRate: number | null = null;
  /** Claims in flight: claim id → epoch ms until which the rows are known to be ours. */
  private readonly activeClaims = new Map<string, number>();
  private renewTimer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> = Promise.resolve();
  private readonly sendSlots: Semaphore;
  /** Set by stop(): claimed emails not yet handed to SMTP go back to pending instead. */
  private stopping = false;
  /**
   * Set when a 'sent' mark could not be written (this instance's database node died): the rest of the
   * claimed emails are not sent, since their marks could not be written either and another sender
   * takes them over when their lease ends. Cleared by the next successful claim.
   */
  private markingFails = false;

  private readonly verp: Verp | null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly mailer: MailerService,
    private readonly audit: AuditService,
    private readonly outbox: MailOutboxRepository,
  ) {
    this.sqlite = isSqliteManager(dataSource);
    this.verp = config.bounceDomain ? new Verp(config.sessionSecret, config.bounceDomain) : null;
    // Enough SMTP transactions at once to keep every pooled connection busy, few enough that an email's lease is checked just before its turn.
    this.sendSlots = new Semaphore(config.smtpUrl ? config.smtpPoolSize * 2 : 20);
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
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.loops).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.config.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished)
      this.logger.warn(
        `Emails still in flight after ${this.config.shutdownTimeoutMs} ms; another sender takes them over when their lease ends`,
      );
    this.loops = [];
    await this.flushSent();
    // Stopped for good: drainOnce() (tests, CLI) may send again. Timed out: loops still running keep handing emails back.
    if (finished) this.stopping = false;
  }

  /** Sends everything due now (tests, CLI); returns when a claim finds nothing and nothing is in flight. */
  async drainOnce(): Promise<DrainResult> {
    const total: DrainResult = { sent: 0, retried: 0, failed: 0 };
    const add = (results: DrainResult[]) =>
      results.forEach((result) => {
        total.sent += result.sent;
        total.retried += result.retried;
        total.failed += result.failed;
      });
    // Emails retried during this call come due after it started, so they wait for the next call.
    const dueBy = new Date();
    await Promise.all(
      Array.from({ length: this.workers }, async () => {
        const backlog = new Backlog(this.claimAheadAt);
        const inFlight: Array<Promise<DrainResult>> = [];
        for (;;) {
          const round = await this.round(backlog, dueBy);
          if (round) {
            inFlight.push(round.done);
            // Its failure is reported by the Promise.all below, not as an unhandled rejection meanwhile.
            round.done.catch(() => undefined);
          }
          // Nothing due: once this worker's sends end, emails handed back (lease margin) are due again.
          else if (inFlight.length) add(await Promise.all(inFlight.splice(0)));
          else break;
        }
      }),
    );
    await this.flushSent();
    return total;
  }

  private async pollLoop(): Promise<void> {
    const backlog = new Backlog(this.claimAheadAt);
    const inFlight = new Set<Promise<unknown>>();
    while (this.running) {
      let worked = false;
      try {
        const round = await this.round(backlog);
        if (round) {
          worked = true;
          const settled = round.done.catch((error: Error) => this.logger.error(`Outbox round failed: ${error.message}`));
          inFlight.add(settled);
          void settled.then(() => inFlight.delete(settled));
        }
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
    // stop() waits for the emails already handed to SMTP.
    await Promise.all(inFlight);
  }

  /**
   * Claims one group and hands it to the send slots. Resolves once this worker may prepare its next claim — when
   * few of its claimed emails are still waiting for a slot — so the SMTP pool never idles while a claim is made;
   * `done` settles when the group's sends have ended. Null when nothing was due.
   */
  private async round(backlog: Backlog, dueBy = new Date()): Promise<{ done: Promise<DrainResult> } | null> {
    await backlog.low();
    if (this.stopping) return null;
    const { claimId, emails } = await this.claim(dueBy);
    if (emails.length === 0) return null;
    const started = Date.now();
    this.keepRenewing();
    backlog.add(emails.length);
    const sends = Promise.all(
      emails.map((email) =>
        this.sendSlots.run(() => {
          backlog.started();
          return this.deliver(email);
        }),
      ),
    );
    // Wrapped: an async function returning the promise itself would wait for it.
    return { done: this.settle(claimId, started, sends) };
  }

  /** Waits for a group's sends and its 'sent' marks, then lets its claim go (no more lease renewals) and counts it. */
  private async settle(
    claimId: string,
    started: number,
    sends: Promise<Array<'sent' | 'retried' | 'failed' | 'released'>>,
  ): Promise<DrainResult> {
    let outcomes: Array<'sent' | 'retried' | 'failed' | 'released'>;
    try {
      outcomes = await sends;
      // The 'sent' marks are committed in groups in the background (queueSent): the next claim waits
      // only for a group already being written, which bounds the crash window to about two groups.
      await this.flushing;
    } finally {
      this.activeClaims.delete(claimId);
    }
    const sent = outcomes.filter((o) => o === 'sent').length;
    if (sent > 0) {
      const rate = sent / Math.max((Date.now() - started) / 1000, 0.001);
      this.workerRate = this.workerRate === null ? rate : (this.workerRate + rate) / 2;
    }
    return {
      sent,
      retried: outcomes.filter((o) => o === 'retried').length,
      failed: outcomes.filter((o) => o === 'failed').length,
    };
  }

  /** A worker claims again once this few of its claimed emails wait for a send slot (two slots' worth each). */
  private get claimAheadAt(): number {
    return this.sendSlots.size * 2;
  }

  /**
   * Reserves due rows for this round: pending ones whose time has come, and 'sending' ones
   * whose lease ran out (their sender crashed). Short transaction; the send happens after it.
   */
  private async claim(dueBy: Date): Promise<{ claimId: string; emails: ClaimedEmail[] }> {
    const claimId = `${this.instanceId}#${++this.claimRound}`;
    const lease = this.leaseUntil(new Date());
    const emails = await this.outbox.claimDue(claimId, lease, dueBy, this.claimLimit());
    this.markingFails = false;
    if (emails.length) this.activeClaims.set(claimId, lease.getTime());
    return { claimId, emails };
  }

  /** DATETIME keeps whole seconds: the lease is rounded down, so what we believe is never longer than what others see. */
  private leaseUntil(now: Date): Date {
    return new Date(Math.floor((now.getTime() + this.config.mailClaimLeaseSeconds * 1000) / 1000) * 1000);
  }

  /** What one worker can send within LEASE_SHARE of the lease at its measured rate (the pool's size until measured). */
  private claimLimit(): number {
    if (this.workerRate === null) return Math.min(CLAIM_BATCH, this.sendSlots.size);
    return Math.max(1, Math.min(CLAIM_BATCH, Math.floor(this.workerRate * this.config.mailClaimLeaseSeconds * LEASE_SHARE)));
  }

  /** While claims are in flight, their leases are pushed forward every SEND_MARGIN_SHARE of the lease. */
  private keepRenewing(): void {
    if (this.renewTimer) return;
    const every = Math.max(200, this.config.mailClaimLeaseSeconds * 1000 * SEND_MARGIN_SHARE);
    this.renewTimer = setInterval(() => {
      if (this.activeClaims.size === 0) {
        clearInterval(this.renewTimer!);
        this.renewTimer = null;
        return;
      }
      this.renewing = this.renewing
        .then(() => this.renewLeases())
        .catch((error: Error) => this.logger.warn(`Could not renew mail leases: ${error.message}`));
    }, every);
    this.renewTimer.unref();
  }

  private async renewLeases(): Promise<void> {
    const claimIds = [...this.activeClaims.keys()];
    if (claimIds.length === 0) return;
    const lease = this.leaseUntil(new Date());
    await this.outbox.renewLeases(claimIds, lease);
    // Rows another sender took over no longer carry our claim id, so the UPDATE left them alone.
    for (const claimId of claimIds) if (this.activeClaims.has(claimId)) this.activeClaims.set(claimId, lease.getTime());
  }

  /** An email whose lease could end mid-transaction goes back to the queue untouched (its attempt not counted). */
  private async release(email: ClaimedEmail): Promise<'released'> {
    await this.outbox.release(email.id, email.claimed_by);
    return 'released';
  }

  private async deliver(email: ClaimedEmail): Promise<'sent' | 'retried' | 'failed' | 'released'> {
    // Not handed back either: that write would fail like the mark did; the lease runs out instead.
    if (this.markingFails) return 'released';
    if (this.stopping) return this.release(email);
    const ours = this.activeClaims.get(email.claimed_by) ?? 0;
    if (ours - Date.now() < this.config.mailClaimLeaseSeconds * 1000 * SEND_MARGIN_SHARE) return this.release(email);
    try {
      const info = await this.mailer.sendMail({
        to: email.to_address.replace(/[\r\n]/g, ''),
        subject: email.subject,
        text: email.text_body ?? '',
        html: email.html_body ?? undefined,
        attachments: this.logoFor(email.html_body),
        // Stable per outbox row: a receiver can spot the rare duplicate from the crash window.
        messageId: `<outbox-${email.id}@${new URL(this.config.publicBaseUrl).hostname}>`,
        // VERP: a bounce comes back to an address that names this row (src/invitations/mail/verp.ts).
        ...(this.verp ? { envelope: { from: this.verp.address(email.id), to: email.to_address.replace(/[\r\n]/g, '') } } : {}),
      });
      if (!this.config.smtpUrl) this.writeEml(email, (info as { message: Buffer }).message);
      this.queueSent(email);
      return 'sent';
    } catch (error) {
      return this.recordFailure(email, error as SendError);
    }
  }

  /** The clinic's logo travels inside the message (CID), so no email ever loads a remote image. */
  private logoFor(html: string | null): Array<{ filename: string; path: string; cid: string }> | undefined {
    const path = this.config.clinicLogoPath;
    if (!path || !html?.includes(`cid:${LOGO_CID}`)) return undefined;
    return [{ filename: basename(path), path, cid: LOGO_CID }];
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
      const sentAt = group[group.length - 1].at;
      try {
        await runInTransaction(this.dataSource, async (tx) => {
          // Marked only where the row still carries this sender's claim: a row another sender took over is that sender's to mark.
          const byClaim = new Map<string, ClaimedEmail[]>();
          for (const { email } of group) byClaim.set(email.claimed_by, [...(byClaim.get(email.claimed_by) ?? []), email]);
          const marked: ClaimedEmail[] = [];
          for (const [claimId, emails] of byClaim) {
            const ids = emails.map((email) => email.id);
            const mine = await this.outbox.markSent(ids, claimId, sentAt, tx);
            marked.push(...emails.filter((email) => mine.has(email.id)));
            if (mine.size < ids.length)
              this.logger.warn(
                `${ids.length - mine.size} email(s) had been taken over by another sender before being marked sent`,
              );
          }
          if (marked.length)
            await this.audit.recordMany(
              SYSTEM_CONTEXT,
              marked.map((email) => auditEntry('mail.sent', email)),
              tx,
            );
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
      const delay =
        Math.min(this.config.mailRetryBaseMs * 2 ** (email.attempts - 1), MAX_BACKOFF_MS) * (0.9 + Math.random() * 0.2);
      // DATETIME has whole seconds: round up, so a retry is never due before its delay.
      const retryAt = new Date(Math.ceil((Date.now() + delay) / 1000) * 1000);
      await this.outbox.scheduleRetry(email.id, email.claimed_by, retryAt, reason);
      this.logger.warn(
        `Email #${email.id} not sent (attempt ${email.attempts}), retrying in ${Math.round(delay / 1000)} s: ${reason}`,
      );
      return 'retried';
    }
    await runInTransaction(this.dataSource, async (tx) => {
      await this.outbox.markFailed(email.id, email.claimed_by, reason, tx);
      await this.audit.record(
        SYSTEM_CONTEXT,
        {
          ...auditEntry('mail.failed', email),
          outcome: 'failure',
          details: { outboxId: email.id, kind: email.kind, attempts: email.attempts, reason },
        },
        tx,
      );
    });
    this.logger.warn(`Email #${email.id} failed after ${email.attempts} attempt(s): ${reason}`);
    return 'failed';
  }
}

/** One worker's claimed emails not yet handed to a send slot; its next claim waits until at most `lowWater` are left. */
class Backlog {
  private waiting = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly lowWater: number) {}

  add(count: number): void {
    this.waiting += count;
  }

  started(): void {
    this.waiting--;
    if (this.waiting <= this.lowWater && this.wake) {
      this.wake();
      this.wake = null;
    }
  }

  async low(): Promise<void> {
    if (this.waiting > this.lowWater) await new Promise<void>((resolve) => (this.wake = resolve));
  }
}

/** At most `size` tasks at once; the rest wait their turn in order. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

function auditEntry(action: string, email: ClaimedEmail): AuditEntry {
  return {
    action,
    patientId: email.patient_id === null ? null : Number(email.patient_id),
    batchId: email.batch_id,
    details: { outboxId: email.id, kind: email.kind },
  };
}
