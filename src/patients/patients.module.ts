import { Module } from '@nestjs/common';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { PatientFormFilter } from './patient-form.filter';
import { PatientsController } from './patients.controller';
import { PatientsService } from './patients.service';

@Module({ imports: [PortalAccessModule], controllers: [PatientsController], providers: [PatientsService, PatientFormFilter], exports: [PatientsService] })
export class PatientsModule {}
