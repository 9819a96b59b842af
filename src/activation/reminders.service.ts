import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { ClinicClock } from '../common/time/clinic-time';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { runInTransaction } from '../database/transactions';
import { InvitationsService } from '../portal-access/invitations.service';
import { MetricsService } from '../observability/metrics.service';
import { canInvite } from '../portal-access/portal-eligibility';
import { dueReminder, parseDays, withinAllowedHours, type DueReminder, type ReminderPolicy } from './reminder-policy';
import { RemindersRepository } from './reminders.repository';
import { message } from '../i18n/messages';

/** Who the audit trail names for the scheduler's emails. */
const REMINDER_CONTEXT: AuditContext = { actorType: 'system', actorId: null, actorLabel: 'reminders', ip: null, userAgent: null };

export interface ReminderRun {
  outcome: 'off' | 'outside_hours' | 'ran';
  /** Reminders this pass queued. */
  sent: number;
  /** Due reminders another instance had claimed first. */
  taken: number;
  /** Due reminders not sent because the patient may not get an email now (canInvite). */
  blocked: number;
}

export type PolicyForm = Omit<ReminderPolicy, 'updatedAt' | 'daysAfterInvite'> & { daysAfterInvite: string };

/**
 * The reminder pass: finds who is due under the policy, claims each due step once (a unique key,
 * so several instances never send the same reminder) and sends a fresh link through the outbox
 * in the claim's transaction — the claim and its email commit together or not at all.
 */
@Injectable()
export class RemindersService {
  private readonly logger = new Logger('Reminders');
  private readonly clock: ClinicClock;
  private readonly instance = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() config: AppConfig,
    private readonly reminders: RemindersRepository,
    private readonly invitations: InvitationsService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {
    this.clock = new ClinicClock(config.clinicTimeZone);
  }

  policy(): Promise<ReminderPolicy> {
    return this.reminders.policy();
  }

  /** Saves the admin's policy; null and a message when the days are not a list of whole days. */
  async savePolicy(form: PolicyForm, context: AuditContext): Promise<string | null> {
    const days = parseDays(form.daysAfterInvite);
    if (days === null) return message('staff:reminders.badDays');
    const policy = { ...form, daysAfterInvite: days };
    // Saving the form untouched changes nothing and audits nothing; the audit names what changed.
    const current = await this.reminders.policy();
    const changed = (Object.keys(policy) as Array<keyof typeof policy>).filter(
      (field) => JSON.stringify(policy[field]) !== JSON.stringify(current[field]),
    );
    if (changed.length === 0) return null;
    await runInTransaction(this.dataSource, async (tx) => {
      await this.reminders.savePolicy(policy, context.actorType === 'staff' ? context.actorId : null, new Date(), tx);
      await this.audit.record(context, { action: 'reminders.policy_changed', details: { ...policy, changed } }, tx);
    });
    return null;
  }

  /** One pass (the in-process scheduler and `npm run reminders:run`). */
  async runOnce(): Promise<ReminderRun> {
    const run: ReminderRun = { outcome: 'ran', sent: 0, taken: 0, blocked: 0 };
    try {
      const now = new Date();
      const policy = await this.reminders.policy();
      if (!policy.enabled) return this.counted({ ...run, outcome: 'off' });
      if (!withinAllowedHours(policy, this.clock.hourOf(now))) return this.counted({ ...run, outcome: 'outside_hours' });
      const candidates = await this.reminders.candidates();
      const claimed = await this.reminders.claimedSteps(candidates.map((c) => c.patientId));
      for (const candidate of candidates) {
        const due = dueReminder({ ...candidate, claimedSteps: claimed.get(candidate.patientId) ?? new Set() }, policy, now);
        if (!due) continue;
        // The one invite rule (deceased, access, email, and whatever portal-eligibility adds, e.g. age).
        if (!canInvite(candidate)) {
          run.blocked++;
          continue;
        }
        if (await this.send(due, now)) run.sent++;
        else run.taken++;
      }
      if (run.sent) this.logger.log(`Reminders queued: ${run.sent}`);
      return this.counted(run);
    } catch (error) {
      this.metrics.reminderRuns.inc({ outcome: 'failed' });
      throw error;
    }
  }

  private counted(run: ReminderRun): ReminderRun {
    this.metrics.reminderRuns.inc({ outcome: run.outcome });
    return run;
  }

  private async send(due: DueReminder, now: Date): Promise<boolean> {
    return runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.reminders.claim(due.patientId, due.key, this.instance, now, tx))) return false;
      const summary = await this.invitations.sendInvites([due.patientId], REMINDER_CONTEXT, { issuedBy: 'reminder', tx });
      const tokenId = summary.tokenIds?.[0] ?? null;
      await this.reminders.setToken(due.patientId, due.key, tokenId, tx);
      await this.audit.record(
        REMINDER_CONTEXT,
        { action: 'portal.reminder_sent', patientId: due.patientId, details: { step: due.kind, days: due.days, key: due.key } },
        tx,
      );
      return true;
    });
  }
}
