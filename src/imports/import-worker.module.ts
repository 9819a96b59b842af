import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AuditModule } from '../audit/audit.module';
import type { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { StaffNoticesModule } from '../invitations/staff-notices.module';
import { ObservabilityModule } from '../observability/observability.module';
import { PatientsModule } from '../patients/patients.module';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { ImportPipeline } from './import-pipeline';

/** What an import's worker thread boots: the pipeline and the services it writes through, on the worker's own connection. */
@Module({})
export class ImportWorkerModule {
  static forRoot(config: AppConfig, dataSource: DataSource): DynamicModule {
    return {
      module: ImportWorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        TypeOrmModule.forRootAsync({ useFactory: () => ({ ...dataSource.options }), dataSourceFactory: async () => dataSource }),
        ObservabilityModule,
        AuditModule,
        PatientsModule,
        PortalAccessModule,
        // Portal-access reaches AuthModule, whose services take the staff-notice port (provided globally in the app).
        StaffNoticesModule,
      ],
      providers: [ImportPipeline],
    };
  }
}
