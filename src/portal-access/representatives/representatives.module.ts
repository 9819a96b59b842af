import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
import { InvitationsModule } from '../../invitations/invitations.module';
import { PortalReachService } from './portal-reach.service';
import { PortalAccountsModule } from '../portal-accounts.module';
import { RepresentativesRepository } from './representatives.repository';
import { RepresentativesService } from './representatives.service';
import { RepresentativesSweeper } from './representatives-sweeper';

/**
 * Authorised representatives (architecture part Access). Its controller is registered by
 * PortalAccessModule, next to the Patient Portal tab it belongs to; the patient portal (src/portal)
 * imports this module for a representative's sign-in and home.
 */
@Module({
  imports: [InvitationsModule, PortalAccountsModule, AuthModule],
  providers: [RepresentativesRepository, RepresentativesService, PortalReachService, RepresentativesSweeper],
  exports: [RepresentativesRepository, RepresentativesService, PortalReachService],
})
export class RepresentativesModule {}
