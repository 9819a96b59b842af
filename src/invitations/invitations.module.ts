import { MailerModule } from '@nestjs-modules/mailer';
import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PortalAccountsModule } from '../portal-access/portal-accounts.module';
import { AccountNoticesService } from './account-notices.service';
import { InviteEmailRenderer } from './invite-email.renderer';
import { InvitationsService } from './invitations.service';
import { MailSenderService } from './mail/mail-sender.service';
import { mailerOptions } from './mail/mail-transport';
import { BulkBatchesRepository } from './bulk-batches.repository';
import { MailOutboxRepository } from './outbox.repository';
import { PortalTokensRepository } from './portal-tokens.repository';
import { PortalTokensService } from './portal-tokens.service';

/** Invite/reset links, the mail outbox and its sender. The patient's pages live in src/portal. */
@Module({
  imports: [
    PortalAccountsModule,
    MailerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => mailerOptions(config) }),
  ],
  providers: [
    PortalTokensService,
    InviteEmailRenderer,
    InvitationsService,
    MailSenderService,
    AccountNoticesService,
    MailOutboxRepository,
    PortalTokensRepository,
    BulkBatchesRepository,
  ],
  exports: [
    PortalTokensService,
    InviteEmailRenderer,
    InvitationsService,
    MailSenderService,
    AccountNoticesService,
    MailOutboxRepository,
    PortalTokensRepository,
    BulkBatchesRepository,
  ],
})
export class InvitationsModule {}
