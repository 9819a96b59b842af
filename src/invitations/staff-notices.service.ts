import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { ClinicClock } from '../common/time/clinic-time';
import { SOURCE_LANGUAGE, translatorFor } from '../i18n/translations';
import { StaffNoticeMailer, type StaffNotice, type StaffNoticeRecipient } from '../auth/staff-notice-mailer';
import { emailEnvironments, emailFrame } from './email-templates';
import { MailOutboxRepository } from './outbox.repository';

/** Auth's StaffNoticeMailer: a staff notice is an outbox row (no patient), sent by the invites' sender. */
@Injectable()
export class StaffNoticesService extends StaffNoticeMailer {
  private readonly templates = emailEnvironments();

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly outbox: MailOutboxRepository,
    private readonly clock: ClinicClock,
  ) {
    super();
  }

  async queue(tx: EntityManager, notice: StaffNotice, to: StaffNoticeRecipient): Promise<void> {
    // Staff read the source language (like the admins' email-change alert).
    const t = translatorFor(SOURCE_LANGUAGE);
    const clinic = this.config.clinicName.replace(/[\r\n]/g, ' ');
    const name = to.name.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
    const context = {
      ...emailFrame(this.config, SOURCE_LANGUAGE),
      notice,
      // The moment it happened on the clinic's clock ("2026-12-01 09:30 EST").
      when: this.clock.formatDateTime(new Date()),
      greeting: name ? t('emails:greeting', { name }) : t('emails:greetingNoName'),
    };
    await this.outbox.enqueue(
      [
        {
          patientId: null,
          kind: `staff_notice_${notice}`,
          to: to.email,
          subject: t('staff:staffNotices.subject', { clinic, what: t(`staff:staffNotices.${notice}.what`) }),
          text: this.templates.text.render('staff/notice.txt.njk', context),
          html: this.templates.html.render('staff/notice.html.njk', context),
        },
      ],
      tx,
    );
  }
}
