import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { InvitationsModule } from '../invitations/invitations.module';
import { PatientsModule } from '../patients/patients.module';
import { PortalAccountsModule } from './portal-accounts.module';
import { AdminEmailChangesController } from './email-change/admin-email-changes.controller';
import { EmailChangeLinksController } from './email-change/email-change-links.controller';
import { EmailChangePolicyService } from './email-change/email-change-policy.service';
import { EmailChangeRequestsRepository } from './email-change/email-change-requests.repository';
import { EmailChangeService } from './email-change/email-change.service';
import { ActivationCodeController } from './activation-code.controller';
import { LettersController } from './letters.controller';
import { OnboardingActionsService } from './onboarding-actions.service';
import { OnboardingExportService } from './onboarding-export.service';
import { OnboardingController } from './onboarding.controller';
import { OnboardingListRepository } from './onboarding-list.repository';
import { OnboardingQueryService } from './onboarding-query.service';
import { PatientDashboardService } from './patient-dashboard.service';
import { PatientFormFilter } from './patient-form.filter';
import { PatientPortalController } from './patient-portal.controller';
import { PortalAccessService } from './portal-access.service';
import { PortalAccountAdminService } from './portal-account-admin.service';
import { PortalEmailChangeService } from './portal-email-change.service';
import { PortalOverviewService } from './portal-overview.service';
import { RepresentativesController } from './representatives/representatives.controller';
import { RepresentativesModule } from './representatives/representatives.module';

@Module({
  imports: [PatientsModule, PortalAccountsModule, InvitationsModule, AuthModule, RepresentativesModule],
  controllers: [
    OnboardingController,
    PatientPortalController,
    EmailChangeLinksController,
    AdminEmailChangesController,
    ActivationCodeController,
    LettersController,
    RepresentativesController,
  ],
  providers: [
    PortalAccessService,
    OnboardingListRepository,
    OnboardingQueryService,
    OnboardingActionsService,
    OnboardingExportService,
    PortalOverviewService,
    PortalAccountAdminService,
    PatientDashboardService,
    PatientFormFilter,
    PortalEmailChangeService,
    EmailChangeRequestsRepository,
    EmailChangePolicyService,
    EmailChangeService,
  ],
  exports: [
    PortalAccountsModule,
    PortalAccessService,
    OnboardingQueryService,
    PortalOverviewService,
    PortalAccountAdminService,
    PortalEmailChangeService,
    EmailChangeService,
  ],
})
export class PortalAccessModule {}
