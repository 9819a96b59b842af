import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { ClinicClock } from '../common/time/clinic-time';
import { emailEnvironments, emailFrame, emailLanguage } from './email-templates';
import { MailOutboxRepository } from './outbox.repository';
import { describeHours } from './invite-email.renderer';
import { SOURCE_LANGUAGE, translatorFor } from '../i18n/translations';
import { preferredLanguageOf } from '../patients/patient-languages.repository';

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

/** The one notice that goes to the clinic's admins (staff read English), not to the patient. */
const TO_STAFF: ReadonlySet<AccountNotice> = new Set(['email_change_reported']);
const STAFF_SUBJECT = (clinic: string) => `${clinic} security alert: an email change was reported`;

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

  /**
   * The notices queued for one patient's account, newest first, for the staff Patient Portal tab; with
   * `representativeAddresses`, also those of the representatives' own accounts (no patient row: by address).
   */
  async sentFor(patientId: number, representativeAddresses: string[] = [], limit = 20) {
    const rows = await this.outbox.latestWithKindPrefix(patientId, 'notice_', limit, representativeAddresses);
    // The tab names each notice from locales/*/staff.json (notices.kind.<notice>).
    return rows.map((row) => ({ ...row, notice: row.kind.slice('notice_'.length) }));
  }

  get portalUrl(): string {
    return `${this.config.publicBaseUrl}/portal/login`;
  }

  async queue(
    tx: EntityManager,
    notice: AccountNotice,
    to: string,
    /** Null for a representative's own account (no patient's row; its language comes as `language`). */
    patientId: number | null,
    model: { firstName: string } & Record<string, string>,
    /** The recipient's own language when it is not the patient's (a representative's); else the patient's, else the default. */
    language?: string | null,
  ): Promise<void> {
    // Values from the patient's record go into emails without line breaks (no header or layout tricks).
    const clean = Object.fromEntries(
      Object.entries(model).map(([key, value]) => [key, value.replace(/[\u0000-\u001f\u007f]/g, ' ')]),
    );
    const clinic = this.config.clinicName.replace(/[\r\n]/g, ' ');
    const written = TO_STAFF.has(notice)
      ? SOURCE_LANGUAGE
      : emailLanguage(this.config, language ?? (patientId === null ? null : await preferredLanguageOf(tx, patientId)));
    const t = translatorFor(written);
    // `when` is the moment it happened on the clinic's clock ("2026-12-01 09:30 EST").
    const context = {
      ...emailFrame(this.config, written),
      when: this.clock.formatDateTime(new Date()),
      ...clean,
      greeting: clean.firstName.trim() ? t('emails:greeting', { name: clean.firstName.trim() }) : t('emails:greetingNoName'),
      portalUrl: this.portalUrl,
      ...(clean.validForHours ? { validFor: describeHours(Number(clean.validForHours), written) } : {}),
    };
    await this.outbox.enqueue(
      [
        {
          patientId,
          kind: `notice_${notice}`,
          to,
          subject: TO_STAFF.has(notice) ? STAFF_SUBJECT(clinic) : t(`emails:notices.${notice}.subject`, { clinic }),
          text: this.templates.text.render(`notices/${notice}.txt.njk`, context),
          html: this.templates.html.render(`notices/${notice}.html.njk`, context),
        },
      ],
      tx,
    );
  }
}
