import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditEntry, AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { BulkBatchesRepository } from '../invitations/bulk-batches.repository';
import { MailOutboxRepository } from '../invitations/outbox.repository';
import { PortalTokensRepository } from '../invitations/portal-tokens.repository';
import type { EmailedLinkPurpose } from '../invitations/entities/portal-token.entity';
import { InviteEmailRenderer } from '../invitations/invite-email.renderer';
import type { BatchProgress, InviteSkipReason, InviteSummary, LatestInvite } from '../invitations/invitations.types';
import { type InviteCandidate, PortalAccountsRepository } from './portal-accounts.repository';
import { type AgeRules, inviteBlock, inviteKind } from './portal-eligibility';
import { PortalTokensService } from '../invitations/portal-tokens.service';
import { hashToken, newRawToken } from '../invitations/tokens';
import type { IssuedBy } from '../invitations/portal-tokens.repository';
import { runInTransaction } from '../database/transactions';
import { ageOn } from '../common/time/calendar-date';
import { ClinicClock } from '../common/time/clinic-time';
import { fromSqlDate } from '../database/sql';
import { message } from '../i18n/messages';

/** mail_outbox.kind of the two portal emails. */
export const MAIL_KIND: Record<EmailedLinkPurpose, string> = { invite: 'portal_invite', reset: 'portal_reset' };

/**
 * A double click (or a retried request) must not send two emails: a patient who got a
 * link of the same purpose, to the same address, within this window and still unused,
 * is answered with that link's email instead of a new one.
 */
export const REPEAT_WINDOW_MS = 10_000;

/** Outbox statuses that are final for the row; pending and sending show as queued. */
const DELIVERED_STATES: ReadonlySet<string> = new Set(['sent', 'failed', 'cancelled', 'bounced']);

export interface SendOptions {
  bulk?: boolean;
  /** Who asked for the links: staff (default), the reminder scheduler ("Reminder:" subject) or the patient. */
  issuedBy?: IssuedBy;
  /** Join the caller's transaction (a reminder's claim row commits with its email). */
  tx?: EntityManager;
  /** Patients whose address is shared (issue 16): skipped as 'shared_email'. */
  sharedEmail?: ReadonlySet<number>;
}

type Candidate = InviteCandidate & { age: number };

/** Who the caller (the onboarding page) already knows must be skipped: addresses others read too. */
export type InviteOptions = SendOptions;

interface Plan {
  summary: InviteSummary;
  /** Patients who get an email, with the purpose decided by whether they have a username. */
  eligible: Array<Candidate & { email: string; purpose: EmailedLinkPurpose }>;
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
    private readonly accounts: PortalAccountsRepository,
    private readonly tokenRows: PortalTokensRepository,
    private readonly outbox: MailOutboxRepository,
    private readonly batches: BulkBatchesRepository,
    private readonly clock: ClinicClock,
  ) {}

  /** What sendInvites would do, writing nothing (the bulk confirmation), with the failed-email count staff should see first. */
  async previewInvites(patientIds: number[], options: InviteOptions = {}): Promise<InviteSummary> {
    const ids = uniqueIds(patientIds);
    const { summary, eligible } = this.plan(ids, await this.loadCandidates(this.dataSource.manager, ids, false), null, options);
    const latest = await this.latestInvites(eligible.map((patient) => patient.id));
    summary.emailFailed = [...latest.values()].filter((invite) => invite.delivery === 'failed').length;
    return summary;
  }

  async sendInvites(patientIds: number[], context: AuditContext, options: SendOptions = {}): Promise<InviteSummary> {
    const ids = uniqueIds(patientIds);
    const now = new Date();
    return runInTransaction(options.tx ?? this.dataSource, async (tx) => {
      // Locks the patients' rows (MySQL/MariaDB) so two clicks at once queue one email.
      const candidates = await this.loadCandidates(tx, ids, true);
      const batchId = options.bulk ? randomUUID() : null;
      const { summary, eligible } = this.plan(ids, candidates, batchId, options);

      const repeats = await this.recentLinks(tx, eligible, now);
      const fresh = eligible.filter((patient) => repeats.get(patient.id) !== patient.purpose);
      summary.repeated = eligible.length - fresh.length;

      if (batchId)
        await this.recordBatch(
          tx,
          batchId,
          summary,
          eligible.filter((patient) => repeats.get(patient.id) === patient.purpose).map((patient) => patient.id),
          context,
          now,
        );
      const freshIds = fresh.map((patient) => patient.id);
      await this.tokens.revokeTokensOf(tx, freshIds, 'superseded', now);

      const staffId = context.actorType === 'staff' ? context.actorId : null;
      const issued = fresh.map((patient) => {
        const raw = newRawToken();
        const hours = patient.purpose === 'invite' ? this.config.inviteTtlHours : this.config.resetTtlHours;
        return { patient, raw, hash: hashToken(raw), expiresAt: new Date(now.getTime() + hours * 3_600_000) };
      });
      const tokenIds = await this.tokenRows.insertMany(
        issued.map((t) => ({
          patientId: t.patient.id,
          purpose: t.patient.purpose,
          hash: t.hash,
          sentTo: t.patient.email,
          expiresAt: t.expiresAt,
        })),
        staffId,
        now,
        tx,
        options.issuedBy ?? 'staff',
      );

      summary.tokenIds = [...tokenIds.values()];
      await this.accounts.markInvited(freshIds, now, tx);
      await this.outbox.enqueue(
        issued.map((t) => {
          const email = this.renderer.render(t.patient.purpose, t.patient.firstName, t.raw, t.patient.language);
          if (options.issuedBy === 'reminder') email.subject = `Reminder: ${email.subject}`;
          return {
            batchId,
            patientId: t.patient.id,
            portalTokenId: tokenIds.get(t.hash),
            kind: MAIL_KIND[t.patient.purpose],
            to: t.patient.email,
            subject: email.subject,
            text: email.text,
            html: email.html,
          };
        }),
        tx,
        now,
      );

      const entries: AuditEntry[] = eligible.map((patient) => ({
        action: patient.purpose === 'invite' ? 'portal.invite_issued' : 'portal.reset_issued',
        patientId: patient.id,
        batchId,
        details:
          repeats.get(patient.id) === patient.purpose
            ? { repeatedWithin: `${REPEAT_WINDOW_MS / 1000}s`, emailQueued: false }
            : { emailQueued: true },
      }));
      for (const [reason, skippedIds] of Object.entries(summary.skippedIds) as Array<[InviteSkipReason, number[]]>) {
        for (const patientId of skippedIds)
          entries.push({ action: 'portal.invite_skipped', outcome: 'denied', patientId, batchId, details: { reason } });
      }
      await this.audit.recordMany(context, entries, tx);
      return summary;
    });
  }

  async batchProgress(batchId: string): Promise<BatchProgress> {
    if (!(await this.batches.exists(batchId))) throw new NotFoundException(message('staff:refusal.noSuchBatch'));
    const counts = await this.outbox.countByStatusInBatch(batchId);
    const count = (status: string) => counts.get(status) ?? 0;
    const failures = await this.outbox.failuresInBatch(batchId, 50);
    const pending = count('pending') + count('sending');
    const progress = { batchId, pending, sent: count('sent'), failed: count('failed') };
    return {
      ...progress,
      total: progress.pending + progress.sent + progress.failed,
      failures,
      done: pending === 0,
    };
  }

  /** Delivery state of each patient's latest invite/reset email, in one query (for ≤ 50 onboarding rows). */
  async latestInvites(patientIds: number[]): Promise<Map<number, LatestInvite>> {
    const ids = uniqueIds(patientIds);
    const result = new Map<number, LatestInvite>();
    if (ids.length === 0) return result;
    for (const row of await this.outbox.latestOfKinds(ids, [MAIL_KIND.invite, MAIL_KIND.reset])) {
      result.set(row.patientId, {
        patientId: row.patientId,
        purpose: row.kind === MAIL_KIND.reset ? 'reset' : 'invite',
        delivery: DELIVERED_STATES.has(row.status) ? (row.status as LatestInvite['delivery']) : 'queued',
        createdAt: row.createdAt,
        sentAt: row.sentAt,
        expiresAt: row.linkExpiresAt ?? row.createdAt,
        openedAt: row.linkOpenedAt,
        usedAt: row.linkUsedAt,
        revokedAt: row.linkRevokedAt,
        revokedReason: row.linkRevokedReason,
        failedAt: row.failedAt,
        bouncedAt: row.bouncedAt,
        bounceKind: row.bounceKind,
      });
    }
    return result;
  }

  /** The shared rule with the configured ages (MINOR_SELF_ACCESS_AGE) and the caller's shared addresses. */
  private plan(ids: number[], candidates: Map<number, Candidate>, batchId: string | null, options: InviteOptions): Plan {
    return plan(ids, candidates, batchId, this.config, options.sharedEmail);
  }

  private async loadCandidates(db: EntityManager, ids: number[], lock: boolean): Promise<Map<number, Candidate>> {
    const today = this.clock.dayOf(new Date());
    const found = new Map<number, Candidate>();
    for (const [id, row] of await this.accounts.inviteCandidates(ids, lock, db))
      found.set(id, { ...row, age: ageOn(fromSqlDate(row.dateOfBirth), today) });
    return found;
  }

  /** Unused links issued within REPEAT_WINDOW_MS to the patient's current address, by patient. */
  private async recentLinks(tx: EntityManager, eligible: Plan['eligible'], now: Date): Promise<Map<number, EmailedLinkPurpose>> {
    const recent = new Map<number, EmailedLinkPurpose>();
    const emailOf = new Map(eligible.map((patient) => [patient.id, patient.email]));
    const since = new Date(now.getTime() - REPEAT_WINDOW_MS);
    for (const link of await this.tokenRows.openSince([...emailOf.keys()], since, tx)) {
      if ((link.purpose === 'invite' || link.purpose === 'reset') && emailOf.get(link.patientId) === link.sentTo)
        recent.set(link.patientId, link.purpose);
    }
    return recent;
  }

  private async recordBatch(
    tx: EntityManager,
    batchId: string,
    summary: InviteSummary,
    repeatedIds: number[],
    context: AuditContext,
    now: Date,
  ): Promise<void> {
    const skipped = Object.values(summary.skipped).reduce((sum, n) => sum + (n ?? 0), 0);
    await this.batches.insert(
      {
        id: batchId,
        action: 'invite',
        staffId: context.actorType === 'staff' ? context.actorId : null,
        requested: summary.requested,
        queued: summary.invites + summary.resets - (summary.repeated ?? 0),
        skipped,
        skippedReasons: summary.skipped,
        skippedIds: summary.skippedIds,
        repeatedIds,
      },
      now,
      tx,
    );
  }
}

function uniqueIds(patientIds: number[]): number[] {
  return [...new Set(patientIds.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0))];
}

/** Who gets which email and who is skipped (and why); the rule shared by preview and send. */
function plan(
  ids: number[],
  candidates: Map<number, Candidate>,
  batchId: string | null,
  ages: AgeRules,
  sharedEmail?: ReadonlySet<number>,
): Plan {
  const summary: InviteSummary = {
    batchId,
    requested: ids.length,
    invites: 0,
    resets: 0,
    skipped: {},
    skippedIds: {},
    repeated: 0,
  };
  const eligible: Plan['eligible'] = [];
  const skip = (reason: InviteSkipReason, id: number) => {
    summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
    (summary.skippedIds[reason] ??= []).push(id);
  };
  for (const id of ids) {
    const patient = candidates.get(id);
    const blocked = patient ? inviteBlock({ ...patient, sharedEmail: sharedEmail?.has(id) }, ages) : 'unknown_patient';
    if (blocked || !patient?.email) skip(blocked ?? 'no_email', id);
    else {
      const purpose: EmailedLinkPurpose = inviteKind(patient);
      if (purpose === 'invite') summary.invites++;
      else summary.resets++;
      eligible.push({ ...patient, email: patient.email, purpose });
    }
  }
  return { summary, eligible };
}
