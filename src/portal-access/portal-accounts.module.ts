import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { InvitationsService } from './invitations.service';
import { PortalAccountsRepository } from './portal-accounts.repository';
import { RepresentativeAccountsRepository } from './representative-accounts.repository';

/**
 * The portal_accounts table's owner and the invite plan (who gets an invite or a reset, and the
 * account rows it marks), without the rest of portal-access: the patient portal (forgot password)
 * uses them too. Invitations (tokens, outbox) sits below and knows nothing of accounts.
 */
@Module({
  imports: [InvitationsModule],
  providers: [PortalAccountsRepository, RepresentativeAccountsRepository, InvitationsService],
  exports: [PortalAccountsRepository, RepresentativeAccountsRepository, InvitationsService],
})
export class PortalAccountsModule {}
