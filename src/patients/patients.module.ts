import { Module } from '@nestjs/common';
import { ActivationFunnelRepository } from './activation-funnel.repository';
import { PatientImportRepository } from './patient-import.repository';
import { PatientsRepository } from './patients.repository';
import { PatientsService } from './patients.service';

/**
 * Patients' own data and rules. A leaf: it imports no other feature; the dashboard page that
 * composes portal access and email changes lives in portal-access/ (PatientPortalController).
 */
@Module({
  providers: [PatientsService, PatientsRepository, PatientImportRepository, ActivationFunnelRepository],
  exports: [PatientsService, PatientsRepository, PatientImportRepository, ActivationFunnelRepository],
})
export class PatientsModule {}
