import { Injectable, NotFoundException } from '@nestjs/common';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { ClinicClock } from '../common/time/clinic-time';
import { type BatchUnsent, BulkBatchesRepository } from '../invitations/bulk-batches.repository';
import { INVITE_SKIP_REASON_LABELS, type InviteSkipReason } from '../invitations/invitations.types';
import { type BatchEmail, MailOutboxRepository } from '../invitations/outbox.repository';
import { PatientsRepository } from '../patients/patients.repository';
import { MAIL_KIND } from './invitations.service';
import type { OnboardingFilter, OnboardingSort } from './onboarding-filter';
import { OnboardingQueryService } from './onboarding-query.service';
import { message } from '../i18n/messages';

const BATCH = 1000;

export const ONBOARDING_EXPORT_HEADER = [
  'Status',
  'Last name',
  'First name',
  'Date of birth',
  'Email',
  'Username',
  'Primary provider',
  'Next appointment',
  'Latest invite',
  'MRN',
];
export const BATCH_REPORT_HEADER = ['Patient id', 'Last name', 'First name', 'Email', 'Outcome', 'Reason', 'Sent at'];

/**
 * CSV exports: patient data leaving the app, so each one is audited (with the filter or the
 * batch) before the first row is sent; if that audit row cannot be written, nothing is sent.
 */
@Injectable()
export class OnboardingExportService {
  constructor(
    private readonly query: OnboardingQueryService,
    private readonly audit: AuditService,
    private readonly clock: ClinicClock,
    private readonly batches: BulkBatchesRepository,
    private readonly outbox: MailOutboxRepository,
    private readonly patients: PatientsRepository,
  ) {}

  /** Every patient matching the onboarding filter, in the on-screen order, 1,000 at a time. */
  async onboardingList(
    filter: OnboardingFilter,
    sort: OnboardingSort,
    context: AuditContext,
  ): Promise<AsyncIterable<unknown[][]>> {
    const total = await this.query.count(filter);
    await this.audit.record(context, { action: 'patients.exported', details: { filter, sort, rows: total, format: 'csv' } });
    return this.onboardingBatches(filter, sort);
  }

  /** Every patient of a bulk invite batch: sent / queued / failed / cancelled / skipped, with the reason. */
  async batchReport(batchId: string, context: AuditContext): Promise<AsyncIterable<unknown[][]>> {
    const unsent = await this.batches.unsentOf(batchId);
    if (!unsent) throw new NotFoundException(message('staff:refusal.noSuchBatch'));
    await this.audit.record(context, { action: 'bulk_batch.report_exported', batchId, details: { format: 'csv' } });
    return this.reportBatches(batchId, unsent);
  }

  private async *onboardingBatches(filter: OnboardingFilter, sort: OnboardingSort): AsyncGenerator<unknown[][]> {
    for await (const rows of this.query.walk(filter, sort, BATCH)) {
      yield rows.map((row) => [
        row.statusLabel,
        row.lastName,
        row.firstName,
        row.dateOfBirth,
        row.email ?? 'No email on file',
        row.username,
        row.providerName,
        this.clock.formatDateTime(row.nextAppointmentAt),
        row.latestInvite
          ? `${row.latestInvite.purpose} ${row.latestInvite.delivery} ${this.clock.formatDateTime(row.latestInvite.createdAt)}`
          : '',
        // Last, so the columns of existing spreadsheets keep their places.
        row.mrn,
      ]);
    }
  }

  /** The batch's emails from the outbox (their delivery), then who it did not email, from the batch row. */
  private async *reportBatches(batchId: string, unsent: BatchUnsent): AsyncGenerator<unknown[][]> {
    for (let afterId = 0; ;) {
      const emails = await this.outbox.batchEmails(batchId, afterId, BATCH);
      if (emails.length === 0) break;
      yield emails.map((mail) => {
        const [outcome, reason] = emailOutcome(mail);
        return [
          mail.patientId,
          mail.lastName,
          mail.firstName,
          mail.toAddress,
          outcome,
          reason,
          this.clock.formatDateTime(mail.sentAt),
        ];
      });
      afterId = emails[emails.length - 1].id;
    }
    const rows: Array<{ patientId: number; outcome: string; reason: string }> = [
      ...unsent.repeated.map((patientId) => ({
        patientId,
        outcome: 'not sent again',
        reason: 'the same email was sent seconds before',
      })),
      ...unsent.skipped.map(({ patientId, reason }) => ({
        patientId,
        outcome: 'skipped',
        reason: INVITE_SKIP_REASON_LABELS[reason as InviteSkipReason] ?? reason,
      })),
    ];
    for (let start = 0; start < rows.length; start += BATCH) {
      const page = rows.slice(start, start + BATCH);
      const contacts = await this.patients.contacts(page.map((row) => row.patientId));
      yield page.map((row) => {
        const patient = contacts.get(row.patientId);
        return [
          row.patientId,
          patient?.lastName ?? null,
          patient?.firstName ?? null,
          patient?.email ?? null,
          row.outcome,
          row.reason,
          '',
        ];
      });
    }
  }
}

/** What became of one queued email, in words for the report. */
function emailOutcome(mail: BatchEmail): [string, string] {
  const kind = mail.kind === MAIL_KIND.reset ? 'password-reset email' : 'invite';
  if (mail.status === 'sent') return ['sent', kind];
  if (mail.status === 'failed') return ['failed', mail.lastError ?? 'delivery failed'];
  if (mail.status === 'cancelled') return ['cancelled', mail.lastError ?? 'link revoked before sending'];
  return ['queued', `${kind} waiting to be sent`];
}
