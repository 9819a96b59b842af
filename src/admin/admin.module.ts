import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PatientsModule } from '../patients/patients.module';
import { AdminAuditController } from './admin-audit.controller';
import { AdminUsersController } from './admin-users.controller';

@Module({ imports: [AuthModule, PatientsModule], controllers: [AdminUsersController, AdminAuditController] })
export class AdminModule {}
