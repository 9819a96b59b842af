import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module';
import { InvitationsModule } from '../invitations/invitations.module';
import { PortalAccountsModule } from '../portal-access/portal-accounts.module';
import { PortalAccountController } from './account/account.controller';
import { PortalAccountService } from './account/portal-account.service';
import { PortalSessionsRepository } from './account/portal-sessions.repository';
import { PortalSessionsService } from './account/portal-sessions.service';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { IdentityCheckService } from './identity-check/identity-check.service';
import { RepresentativesModule } from '../portal-access/representatives/representatives.module';
import { RepresentativeSignInService } from './representative-sign-in.service';
import { PatientAccountsService } from './patient-accounts.service';
import { SIGN_IN_ATTEMPTS } from './sign-in-attempts';
import { PortalFactorsRepository } from './second-factor/portal-factors.repository';
import { PortalSecondFactorController } from './second-factor/portal-second-factor.controller';
import { PortalSecondFactorService } from './second-factor/portal-second-factor.service';
import { PortalSecondStepController } from './second-factor/portal-second-step.controller';
import { PortalSecondStepService } from './second-factor/portal-second-step.service';
import { PatientAuthGuard } from './patient-session';
import { NewLinkService } from './new-link.service';
import { PortalLinksController } from './portal-links.controller';
import { PortalController } from './portal.controller';

/** The patient's side of the Patient Portal: emailed links, sign-in, home, forgot password, the account page. */
@Module({
  imports: [AuthModule, InvitationsModule, PortalAccountsModule, PortalAccessModule, RepresentativesModule],
  controllers: [
    PortalLinksController,
    PortalController,
    PortalAccountController,
    PortalSecondFactorController,
    PortalSecondStepController,
  ],
  providers: [
    PatientAccountsService,
    RepresentativeSignInService,
    ...SIGN_IN_ATTEMPTS,
    NewLinkService,
    IdentityCheckService,
    PortalSessionsRepository,
    PortalSessionsService,
    PortalAccountService,
    PortalFactorsRepository,
    PortalSecondFactorService,
    PortalSecondStepService,
    { provide: APP_GUARD, useClass: PatientAuthGuard },
  ],
  exports: [PatientAccountsService, IdentityCheckService],
})
export class PortalModule {}
