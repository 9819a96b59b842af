import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { OnboardingActionsService } from './onboarding-actions.service';
import { OnboardingController } from './onboarding.controller';
import { OnboardingQueryService } from './onboarding-query.service';
import { PortalAccessService } from './portal-access.service';
import { PortalAccountAdminService } from './portal-account-admin.service';
import { PortalOverviewService } from './portal-overview.service';

@Module({
  imports: [InvitationsModule],
  controllers: [OnboardingController],
  providers: [PortalAccessService, OnboardingQueryService, OnboardingActionsService, PortalOverviewService, PortalAccountAdminService],
  exports: [PortalAccessService, OnboardingQueryService, PortalOverviewService, PortalAccountAdminService],
})
export class PortalAccessModule {}
