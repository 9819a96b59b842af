import { Module } from '@nestjs/common';
import { InvitationsModule } from '../../invitations/invitations.module';
import { PortalAccountsModule } from '../portal-accounts.module';
import { RepresentativesRepository } from './representatives.repository';
import { RepresentativesService } from './representatives.service';

/**
 * Authorised representatives (architecture part Access). Its controller is registered by
 * PortalAccessModule, next to the Patient Portal tab it belongs to; the patient portal (src/portal)
 * imports this module for a representative's sign-in and home.
 */
@Module({
  imports: [InvitationsModule, PortalAccountsModule],
  providers: [RepresentativesRepository, RepresentativesService],
  exports: [RepresentativesRepository, RepresentativesService],
})
export class RepresentativesModule {}
