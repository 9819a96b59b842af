import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module';
import { InvitationsModule } from '../invitations/invitations.module';
import { PortalAccountsModule } from '../portal-access/portal-accounts.module';
import { RepresentativesModule } from '../portal-access/representatives/representatives.module';
import { RepresentativeSignInService } from './representative-sign-in.service';
import { PatientAccountsService } from './patient-accounts.service';
import { PatientAuthGuard } from './patient-session';
import { PortalLinksController } from './portal-links.controller';
import { PortalController } from './portal.controller';

/** The patient's side of the Patient Portal: emailed links, sign-in, home, forgot password. */
@Module({
  imports: [AuthModule, InvitationsModule, PortalAccountsModule, RepresentativesModule],
  controllers: [PortalLinksController, PortalController],
  providers: [PatientAccountsService, RepresentativeSignInService, { provide: APP_GUARD, useClass: PatientAuthGuard }],
  exports: [PatientAccountsService],
})
export class PortalModule {}
