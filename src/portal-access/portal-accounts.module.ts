import { Module } from '@nestjs/common';
import { PortalAccountsRepository } from './portal-accounts.repository';
import { RepresentativeAccountsRepository } from './representative-accounts.repository';

/**
 * The portal_accounts table's owner on its own, without the rest of portal-access: invitations
 * and the patient portal write accounts through it, and PortalAccessModule imports invitations.
 */
@Module({
  providers: [PortalAccountsRepository, RepresentativeAccountsRepository],
  exports: [PortalAccountsRepository, RepresentativeAccountsRepository],
})
export class PortalAccountsModule {}
