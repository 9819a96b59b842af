import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { generateSecret, generateURI, verify } from 'otplib';
import { toDataURL } from 'qrcode';
import { EntityManager, Repository } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { StaffTotp } from './entities/staff-totp.entity';
import { MfaKeys } from './mfa-keys';
import { SecondFactorsRepository } from './second-factors.repository';

export const TOTP_PERIOD_SECONDS = 30;

export interface TotpSetup {
  /** Base32, grouped in fours for typing into an app by hand. */
  secretText: string;
  /** PNG data URL of the otpauth:// URI (an <img>, so the CSP needs no script). */
  qrDataUrl: string;
}

/** The 6-digit code as typed: spaces are allowed ("123 456"). */
export const normalizeTotpCode = (input: string) => input.replace(/\s+/g, '');
export const looksLikeTotpCode = (input: string) => /^\d{6}$/.test(normalizeTotpCode(input));

/**
 * The who-independent core of TOTP, shared by staff (TotpService) and portal accounts
 * (src/portal/second-factor/): a new secret, its setup view, and the step a typed code matches.
 */
export const newTotpSecret = () => generateSecret({ length: 20 });

export async function totpSetupFor(secret: string, issuer: string, label: string): Promise<TotpSetup> {
  const uri = generateURI({ issuer, label, secret });
  return {
    secretText: secret.replace(/(.{4})/g, '$1 ').trim(),
    qrDataUrl: await toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, scale: 5 }),
  };
}

/** The time step the code belongs to (current one ±1, later than `lastUsedStep`), or null. */
export async function totpStepOf(secret: string, lastUsedStep: number | string | null, code: string): Promise<number | null> {
  const token = normalizeTotpCode(code);
  if (!/^\d{6}$/.test(token)) return null;
  const lastUsed = lastUsedStep === null ? undefined : Number(lastUsedStep);
  const result = await verify({
    secret,
    token,
    period: TOTP_PERIOD_SECONDS,
    epochTolerance: TOTP_PERIOD_SECONDS,
    ...(lastUsed === undefined ? {} : { afterTimeStep: lastUsed }),
  });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** RFC 6238 codes (SHA-1, 6 digits, 30 s): ±1 step accepted, each step usable once. */
@Injectable()
export class TotpService {
  constructor(
    @InjectRepository(StaffTotp) private readonly totps: Repository<StaffTotp>,
    private readonly keys: MfaKeys,
    @InjectConfig() private readonly config: AppConfig,
    private readonly factors: SecondFactorsRepository,
  ) {}

  async isEnabled(staffUserId: number): Promise<boolean> {
    const row = await this.totps.findOneBy({ staffUserId });
    return !!row?.enabledAt;
  }

  /** The unconfirmed secret of an enrolment in progress (created on first call), with its QR code. */
  async setup(user: { id: number; email: string }): Promise<TotpSetup> {
    let row = await this.totps.findOneBy({ staffUserId: user.id });
    if (row?.enabledAt)
      throw new ConflictException('An authenticator app is already set up. Remove it first to set up another one.');
    if (!row) {
      const secretEncrypted = this.keys.encrypt(newTotpSecret(), context(user.id));
      // A parallel first call may have inserted the row: keep whichever won.
      await this.factors.insertTotpUnlessPresent(user.id, secretEncrypted);
      row = await this.totps.findOneByOrFail({ staffUserId: user.id });
    }
    return totpSetupFor(this.keys.decrypt(row.secretEncrypted, context(user.id)), this.config.clinicName, user.email);
  }

  /** Confirms the enrolment with a code from the app; false if the code is wrong. */
  async activate(staffUserId: number, code: string, manager: EntityManager = this.totps.manager): Promise<boolean> {
    const row = await manager.findOneBy(StaffTotp, { staffUserId });
    if (!row || row.enabledAt) return false;
    const step = await this.matchingStep(row, code);
    if (step === null) return false;
    return this.factors.confirmTotp(staffUserId, step, manager);
  }

  /**
   * Checks a sign-in code and records its step in the same UPDATE that accepts it,
   * so a code (or an older one) cannot be replayed, even by two parallel requests.
   */
  async verifyForSignIn(staffUserId: number, code: string): Promise<boolean> {
    const row = await this.totps.findOneBy({ staffUserId });
    if (!row?.enabledAt) return false;
    const step = await this.matchingStep(row, code);
    if (step === null) return false;
    return this.factors.useTotpStep(staffUserId, step);
  }

  async remove(staffUserId: number, manager: EntityManager = this.totps.manager): Promise<boolean> {
    const result = await manager.delete(StaffTotp, { staffUserId });
    return !!result.affected;
  }

  private matchingStep(row: StaffTotp, code: string): Promise<number | null> {
    return totpStepOf(this.keys.decrypt(row.secretEncrypted, context(row.staffUserId)), row.lastUsedStep, code);
  }
}

const context = (staffUserId: number) => `staff_totp:${staffUserId}`;
