import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AccountController } from './account.controller';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { StaffUser } from './entities/staff-user.entity';
import { MFA_CONTROLLERS, MFA_ENTITIES, MFA_PROVIDERS } from './mfa/mfa.parts';
import { SecondFactorService } from './mfa/second-factor.service';
import { StaffAuthGuard } from './guards/staff-auth.guard';
import { PasswordHasher } from './passwords/password-hasher.service';
import { StaffAuthenticator } from './staff-authenticator';
import { StaffUsersService } from './staff-users.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([StaffUser, ...MFA_ENTITIES]),
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      // Per client IP (req.ip honours only the trusted proxy hops); applies where ThrottlerGuard is used.
      useFactory: (config: AppConfig) => ({ throttlers: [{ ttl: 60_000, limit: config.signInAttemptsPerMinute }] }),
    }),
  ],
  controllers: [AuthController, AccountController, ...MFA_CONTROLLERS],
  providers: [AuthService, StaffUsersService, PasswordHasher, StaffAuthenticator, ...MFA_PROVIDERS, { provide: APP_GUARD, useClass: StaffAuthGuard }],
  exports: [AuthService, StaffUsersService, PasswordHasher, StaffAuthenticator, SecondFactorService],
})
export class AuthModule {}
