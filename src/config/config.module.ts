import { DynamicModule, Global, Inject, Module } from '@nestjs/common';
import { ClinicClock } from '../common/time/clinic-time';
import { AppConfig } from './app-config';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Injects the validated configuration: `constructor(@InjectConfig() private readonly config: AppConfig)`. */
export const InjectConfig = () => Inject(APP_CONFIG);

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        // The clinic's clock (CLINIC_TIME_ZONE): `constructor(private readonly clock: ClinicClock)`.
        { provide: ClinicClock, useValue: new ClinicClock(config.clinicTimeZone) },
      ],
      exports: [APP_CONFIG, ClinicClock],
    };
  }
}
