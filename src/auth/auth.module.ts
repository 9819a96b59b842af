import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AccountController } from './account.controller';
import { AuthController } from './auth.controller';
import { MfaKeys } from './mfa/mfa-keys';
import { WebAuthnRelyingParty } from './mfa/webauthn';
import { MfaPolicyService } from './mfa/mfa-policy.service';
import { AuthService, STAFF_ATTEMPTS } from './auth.service';
import { attemptLockProvider } from './lockout/attempt-lock';
import { StaffUser } from './entities/staff-user.entity';
import { MFA_CONTROLLERS, MFA_ENTITIES, MFA_PROVIDERS } from './mfa/mfa.parts';
import { SecondFactorService } from './mfa/second-factor.service';
import { SecondStepService } from './mfa/second-step.service';
import { StaffAuthGuard } from './guards/staff-auth.guard';
import { PasswordHasher } from './passwords/password-hasher.service';
import { DatabaseThrottlerStorage } from './database-throttler.storage';
import { StaffAuthenticator } from './staff-authenticator';
import { SettingsRepository } from './settings.repository';
import { StaffSessionsService } from './staff-sessions.service';
import { StaffUsersRepository } from './staff-users.repository';
import { StaffUsersService } from './staff-users.service';
import { ThrottleCountersRepository } from './throttle-counters.repository';

@Module({
  imports: [
    TypeOrmModule.forFeature([StaffUser, ...MFA_ENTITIES]),
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, DataSource],
      // Per client IP (req.ip honours only the trusted proxy hops); applies where ThrottlerGuard is used.
      // One budget shared by every such route (sign-in, second step, patient sign-in, forgot password,
      // the emailed-link forms), not one per route; counted in the database so every app instance shares it.
      useFactory: (config: AppConfig, dataSource: DataSource) => ({
        throttlers: [
          {
            ttl: 60_000,
            limit: config.signInAttemptsPerMinute,
            generateKey: (_context: unknown, tracker: string) => `sign-in:${tracker}`,
          },
        ],
        storage: new DatabaseThrottlerStorage(new ThrottleCountersRepository(dataSource)),
      }),
    }),
  ],
  controllers: [AuthController, AccountController, ...MFA_CONTROLLERS],
  providers: [
    AuthService,
    StaffUsersService,
    StaffUsersRepository,
    attemptLockProvider(STAFF_ATTEMPTS, StaffUsersRepository),
    PasswordHasher,
    StaffAuthenticator,
    StaffSessionsService,
    SettingsRepository,
    ...MFA_PROVIDERS,
    { provide: APP_GUARD, useClass: StaffAuthGuard },
  ],
  exports: [
    AuthService,
    StaffUsersService,
    StaffUsersRepository,
    PasswordHasher,
    StaffAuthenticator,
    SecondFactorService,
    SecondStepService,
    // Shared with portal accounts' second factor (src/portal/second-factor/): keys, the policy setting, the WebAuthn relying party.
    MfaKeys,
    MfaPolicyService,
    WebAuthnRelyingParty,
    // The one writer of the settings table (the email-change policy and the setup token keep theirs there too).
    SettingsRepository,
  ],
})
export class AuthModule {}
