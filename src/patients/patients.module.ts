import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { PatientDashboardService } from './patient-dashboard.service';
import { PatientEmailService } from './patient-email.service';
import { EmailChangeRequestsRepository } from './email-change/email-change-requests.repository';
import { EmailChangePolicyService } from './email-change/email-change-policy.service';
import { EmailChangeService } from './email-change/email-change.service';
import { EmailChangeLinksController } from './email-change/email-change-links.controller';
import { AdminEmailChangesController } from './email-change/admin-email-changes.controller';
import { AuthModule } from '../auth/auth.module';
import { PatientFormFilter } from './patient-form.filter';
import { PatientPortalController } from './patient-portal.controller';
import { PatientsController } from './patients.controller';
import { PatientsService } from './patients.service';

@Module({
  imports: [PortalAccessModule, InvitationsModule, AuthModule],
  controllers: [PatientsController, PatientPortalController, EmailChangeLinksController, AdminEmailChangesController],
  providers: [PatientsService, PatientDashboardService, PatientEmailService, PatientFormFilter, EmailChangeRequestsRepository, EmailChangePolicyService, EmailChangeService],
  exports: [PatientsService, PatientEmailService, EmailChangeService],
})
export class PatientsModule {}
