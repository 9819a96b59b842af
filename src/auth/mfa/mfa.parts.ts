import { AccountSecurityController } from './account-security.controller';
import { AdminSecurityController } from './admin-security.controller';
import { Setting } from './entities/setting.entity';
import { StaffPasskey } from './entities/staff-passkey.entity';
import { StaffRecoveryCode } from './entities/staff-recovery-code.entity';
import { StaffTotp } from './entities/staff-totp.entity';
import { MfaKeys } from './mfa-keys';
import { MfaPolicyService } from './mfa-policy.service';
import { PasskeysService } from './passkeys.service';
import { RecoveryCodesService } from './recovery-codes.service';
import { SecondFactorService } from './second-factor.service';
import { SecondFactorsRepository } from './second-factors.repository';
import { SecondStepController } from './second-step.controller';
import { SecondStepService } from './second-step.service';
import { TotpService } from './totp.service';
import { WebAuthnRelyingParty } from './webauthn';

/**
 * The second factor is part of staff sign-in (AuthModule), not a module of its own:
 * the password step and the second step share the lockout, the session and passport.
 */
export const MFA_ENTITIES = [StaffTotp, StaffRecoveryCode, StaffPasskey, Setting];
export const MFA_PROVIDERS = [
  MfaKeys,
  MfaPolicyService,
  TotpService,
  RecoveryCodesService,
  PasskeysService,
  WebAuthnRelyingParty,
  SecondFactorService,
  SecondFactorsRepository,
  SecondStepService,
];
export const MFA_CONTROLLERS = [SecondStepController, AccountSecurityController, AdminSecurityController];
