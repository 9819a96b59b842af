import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { PatientDashboardService } from './patient-dashboard.service';
import { PatientEmailService } from './patient-email.service';
import { PatientFormFilter } from './patient-form.filter';
import { PatientPortalController } from './patient-portal.controller';
import { PatientsController } from './patients.controller';
import { PatientsService } from './patients.service';

@Module({
  imports: [PortalAccessModule, InvitationsModule],
  controllers: [PatientsController, PatientPortalController],
  providers: [PatientsService, PatientDashboardService, PatientEmailService, PatientFormFilter],
  exports: [PatientsService, PatientEmailService],
})
export class PatientsModule {}
