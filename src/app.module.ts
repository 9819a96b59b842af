import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Knex } from 'knex';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import type { DataSource } from 'typeorm';
import { ActivationModule } from './activation/activation.module';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { createValidationPipe } from './common/validation/validation.pipe';
import { ViewInterceptor } from './common/views/view.interceptor';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { SESSION_DB, SessionDbCloser } from './database/session-db';
import { HealthModule } from './health/health.module';
import { HomeModule } from './home/home.module';
import { ImportsModule } from './imports/imports.module';
import { PatientsModule } from './patients/patients.module';
import { InvitationsModule } from './invitations/invitations.module';
import { StaffNoticesModule } from './invitations/staff-notices.module';
import { PortalModule } from './portal/portal.module';
import { PortalAccessModule } from './portal-access/portal-access.module';
import { APP_LOGGER, AppLogger, createAppLogger } from './observability/logging';
import { ObservabilityModule } from './observability/observability.module';
import { SetupModule } from './setup/setup.module';

@Module({})
export class AppModule {
  /** The data source is opened (and migrated) before Nest starts, so a bad DATABASE_URL fails with one line. */
  static forRoot(
    config: AppConfig,
    dataSource: DataSource,
    sessionDb: Knex,
    logger: Pino = createAppLogger(config),
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // The request middleware is ours (requestLogging, first in app.setup.ts, so every line has the request id);
        // no module middleware: its catch-all route would add a route for every method to the router.
        LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true, forRoutes: [] }),
        TypeOrmModule.forRootAsync({ useFactory: () => ({ ...dataSource.options }), dataSourceFactory: async () => dataSource }),
        ObservabilityModule,
        AuditModule,
        AuthModule,
        AdminModule,
        HealthModule,
        HomeModule,
        PatientsModule,
        PortalAccessModule,
        InvitationsModule,
        StaffNoticesModule,
        PortalModule,
        ImportsModule,
        SetupModule,
        ActivationModule,
      ],
      providers: [
        { provide: SESSION_DB, useValue: sessionDb },
        { provide: APP_LOGGER, useValue: logger },
        AppLogger,
        SessionDbCloser,
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: ViewInterceptor },
      ],
    };
  }
}
