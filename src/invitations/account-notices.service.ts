import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { emailEnvironments } from './email-templates';
import { MailOutboxRepository } from './outbox.repository';

/** Security notices about a portal account (no link that signs in, no health information); the last one goes to admins. */
export type AccountNotice =
  'email_changed' | 'username_changed' | 'email_change_requested' | 'email_verify' | 'email_change_reported';

const SUBJECTS: Record<AccountNotice, (clinic: string) => string> = {
  email_changed: (clinic) => `The email address of your ${clinic} Patient Portal account was changed`,
  username_changed: (clinic) => `Your ${clinic} Patient Portal username was changed`,
  email_change_requested: (clinic) => `A change of your ${clinic} Patient Portal email address was requested`,
  email_verify: (clinic) => `Confirm your email address for the ${clinic} Patient Portal`,
  email_change_reported: (clinic) => `${clinic} security alert: an email change was reported`,
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
  ) {}

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
    const context = { ...clean, clinicName: this.config.clinicName, portalUrl: this.portalUrl };
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
