import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { OnboardingActionsService } from './onboarding-actions.service';
import { OnboardingController } from './onboarding.controller';
import { OnboardingQueryService } from './onboarding-query.service';
import { PortalAccessService } from './portal-access.service';

@Module({
  imports: [InvitationsModule],
  controllers: [OnboardingController],
  providers: [PortalAccessService, OnboardingQueryService, OnboardingActionsService],
  exports: [PortalAccessService, OnboardingQueryService],
})
export class PortalAccessModule {}
