import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { ClinicClock } from '../common/time/clinic-time';
import { emailEnvironments } from './email-templates';
import { MailOutboxRepository } from './outbox.repository';

/** Security notices about a portal account (no link that signs in, no health information); the last one goes to admins. */
export type AccountNotice =
  | 'email_changed'
  | 'username_changed'
  | 'email_change_requested'
  | 'email_verify'
  | 'email_change_reported'
  | 'password_changed'
  | 'second_factor_added'
  | 'second_factor_removed'
  | 'recovery_code_used'
  | 'account_locked';

const SUBJECTS: Record<AccountNotice, (clinic: string) => string> = {
  email_changed: (clinic) => `The email address of your ${clinic} Patient Portal account was changed`,
  username_changed: (clinic) => `Your ${clinic} Patient Portal username was changed`,
  email_change_requested: (clinic) => `A change of your ${clinic} Patient Portal email address was requested`,
  email_verify: (clinic) => `Confirm your email address for the ${clinic} Patient Portal`,
  email_change_reported: (clinic) => `${clinic} security alert: an email change was reported`,
  password_changed: (clinic) => `Your ${clinic} Patient Portal password was changed`,
  second_factor_added: (clinic) => `A sign-in step was added to your ${clinic} Patient Portal account`,
  second_factor_removed: (clinic) => `A sign-in step was removed from your ${clinic} Patient Portal account`,
  recovery_code_used: (clinic) => `A recovery code was used to sign in to your ${clinic} Patient Portal account`,
  account_locked: (clinic) => `Your ${clinic} Patient Portal sign-in was locked after failed attempts`,
};

/** What the staff tab calls each notice (the outbox kind is `notice_<name>`). */
export const NOTICE_NAMES: Record<AccountNotice, string> = {
  email_changed: 'Email changed (to the old address)',
  username_changed: 'Username changed',
  email_change_requested: 'Email change requested (to the current address)',
  email_verify: 'Confirm the new email address',
  email_change_reported: 'Email change reported (to admins)',
  password_changed: 'Password changed',
  second_factor_added: 'Second sign-in step added',
  second_factor_removed: 'Second sign-in step removed',
  recovery_code_used: 'Recovery code used',
  account_locked: 'Sign-in locked after failed attempts',
};

/** "jane.doe@example.com" → "j•••@example.com": the old address learns that, not the new address. */
export function maskEmail(email: string): string {
  const [local, domain] = email.split('@');
  return `${local.slice(0, 1)}•••@${domain ?? ''}`;
}

/** Queues notices in the caller's transaction, through the same outbox and sender as invites. */
@Injectable()
export class AccountNoticesService {
  private readonly templates = emailEnvironments();

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly outbox: MailOutboxRepository,
    private readonly clock: ClinicClock,
  ) {}

  /** The notices queued for one account, newest first, for the staff Patient Portal tab. */
  async sentFor(patientId: number, limit = 20) {
    const rows = await this.outbox.latestWithKindPrefix(patientId, 'notice_', limit);
    return rows.map((row) => ({ ...row, name: NOTICE_NAMES[row.kind.slice('notice_'.length) as AccountNotice] ?? row.kind }));
  }

  get portalUrl(): string {
    return `${this.config.publicBaseUrl}/portal/login`;
  }

  async queue(
    tx: EntityManager,
    notice: AccountNotice,
    to: string,
    patientId: number,
    model: { firstName: string } & Record<string, string>,
  ): Promise<void> {
    // Values from the patient's record go into emails without line breaks (no header or layout tricks).
    const clean = Object.fromEntries(
      Object.entries(model).map(([key, value]) => [key, value.replace(/[\u0000-\u001f\u007f]/g, ' ')]),
    );
    // `when` is the moment it happened on the clinic's clock ("2026-12-01 09:30 EST").
    const context = {
      when: this.clock.formatDateTime(new Date()),
      ...clean,
      clinicName: this.config.clinicName,
      portalUrl: this.portalUrl,
    };
    await this.outbox.enqueue(
      [
        {
          patientId,
          kind: `notice_${notice}`,
          to,
          subject: SUBJECTS[notice](this.config.clinicName.replace(/[\r\n]/g, ' ')),
          text: this.templates.text.render(`notices/${notice}.txt.njk`, context),
          html: this.templates.html.render(`notices/${notice}.html.njk`, context),
        },
      ],
      tx,
    );
  }
}
