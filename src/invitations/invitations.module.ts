import { MailerModule } from '@nestjs-modules/mailer';
import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PatientsModule } from '../patients/patients.module';
import { AccountNoticesService } from './account-notices.service';
import { InviteEmailRenderer } from './invite-email.renderer';
import { MailSenderService } from './mail/mail-sender.service';
import { mailerOptions } from './mail/mail-transport';
import { BulkBatchesRepository } from './bulk-batches.repository';
import { MailOutboxRepository } from './outbox.repository';
import { PortalTokensRepository } from './portal-tokens.repository';
import { PortalTokensService } from './portal-tokens.service';

/**
 * Invite/reset links, the mail outbox and its sender. Who may be invited, and the account rows an
 * invite marks, belong to portal-access (InvitationsService there). The patient's pages live in src/portal.
 */
@Module({
  imports: [
    MailerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => mailerOptions(config) }),
    // The activation funnel's summary (patients/activation-funnel.repository.ts): links and emails move it.
    PatientsModule,
  ],
  providers: [
    PortalTokensService,
    InviteEmailRenderer,
    MailSenderService,
    AccountNoticesService,
    MailOutboxRepository,
    PortalTokensRepository,
    BulkBatchesRepository,
  ],
  exports: [
    PortalTokensService,
    InviteEmailRenderer,
    MailSenderService,
    AccountNoticesService,
    MailOutboxRepository,
    PortalTokensRepository,
    BulkBatchesRepository,
  ],
})
export class InvitationsModule {}
