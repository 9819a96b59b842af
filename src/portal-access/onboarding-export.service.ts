import { Injectable, NotFoundException } from '@nestjs/common';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { ClinicClock } from '../common/time/clinic-time';
import { fromSqlDateTime } from '../database/sql';
import { INVITE_SKIP_REASON_LABELS, type InviteSkipReason } from '../invitations/invitations.types';
import { BatchReportRepository } from './batch-report.repository';
import type { OnboardingFilter, OnboardingSort } from './onboarding-filter';
import { OnboardingQueryService } from './onboarding-query.service';

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
    private readonly reports: BatchReportRepository,
    private readonly query: OnboardingQueryService,
    private readonly audit: AuditService,
    private readonly clock: ClinicClock,
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
    if (!(await this.reports.exists(batchId))) throw new NotFoundException('That batch does not exist.');
    await this.audit.record(context, { action: 'bulk_batch.report_exported', batchId, details: { format: 'csv' } });
    return this.reportBatches(batchId);
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

  private async *reportBatches(batchId: string): AsyncGenerator<unknown[][]> {
    let afterId = 0;
    for (;;) {
      const events = await this.reports.events(batchId, afterId, BATCH);
      if (events.length === 0) return;
      const patientIds = events
        .map((event) => event.patient_id)
        .filter((id): id is number | string => id !== null)
        .map(Number);
      const mails = await this.reports.mails(batchId, patientIds);
      const mailOf = new Map(mails.map((mail) => [Number(mail.patient_id), mail]));
      yield events.map((event) => {
        const patientId = event.patient_id === null ? null : Number(event.patient_id);
        const details = event.details
          ? (JSON.parse(event.details) as { reason?: InviteSkipReason; repeatedWithin?: string })
          : {};
        const mail = patientId === null ? undefined : mailOf.get(patientId);
        const [outcome, reason] = outcomeOf(event.action, details, mail);
        return [
          patientId,
          event.last_name,
          event.first_name,
          mail?.to_address ?? event.email,
          outcome,
          reason,
          this.clock.formatDateTime(fromSqlDateTime(mail?.sent_at)),
        ];
      });
      afterId = Number(events[events.length - 1].id);
    }
  }
}

/** A key read back from the driver, as the keyset condition binds it (mysql2 returns Dates). */
function outcomeOf(
  action: string,
  details: { reason?: InviteSkipReason; repeatedWithin?: string },
  mail?: { status: string; last_error: string | null },
): [string, string] {
  if (action === 'portal.invite_skipped')
    return ['skipped', details.reason ? (INVITE_SKIP_REASON_LABELS[details.reason] ?? details.reason) : ''];
  const kind = action === 'portal.reset_issued' ? 'password-reset email' : 'invite';
  if (!mail) return ['not sent again', details.repeatedWithin ? `the same ${kind} was sent seconds before` : 'no email queued'];
  if (mail.status === 'sent') return ['sent', kind];
  if (mail.status === 'failed') return ['failed', mail.last_error ?? 'delivery failed'];
  if (mail.status === 'cancelled') return ['cancelled', mail.last_error ?? 'link revoked before sending'];
  return ['queued', `${kind} waiting to be sent`];
}
