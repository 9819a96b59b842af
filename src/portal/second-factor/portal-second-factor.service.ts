import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { MfaKeys } from '../../auth/mfa/mfa-keys';
import { MfaPolicyService } from '../../auth/mfa/mfa-policy.service';
import { newRecoveryCodes, normalizeRecoveryCode } from '../../auth/mfa/recovery-codes.service';
import { looksLikeTotpCode, newTotpSecret, totpSetupFor, totpStepOf, type TotpSetup } from '../../auth/mfa/totp.service';
import { assertedCredentialId, MAX_PASSKEYS_PER_USER, WebAuthnRelyingParty } from '../../auth/mfa/webauthn';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';
import { AccountNoticesService } from '../../invitations/account-notices.service';
import { PortalAccountsRepository } from '../../portal-access/portal-accounts.repository';
import { PortalFactorsRepository, type PortalPasskeyRow } from './portal-factors.repository';
import { message } from '../../i18n/messages';

export interface PortalSecondFactorStatus {
  totp: boolean;
  passkeys: PortalPasskeyRow[];
  /** An authenticator app or a passkey: signing in asks for a second step. */
  any: boolean;
  recoveryCodesRemaining: number;
  required: boolean;
}

/** Said to the patient when a passkey cannot be added or removed: message keys, written out in the patient's language by the error filter. */
export const PASSKEY_ERRORS = {
  tooMany: message('portal:passkeys.errors.tooMany'),
  refused: message('portal:passkeys.errors.refused'),
  duplicate: message('portal:passkeys.errors.duplicate'),
  expired: message('portal:passkeys.errors.expired'),
  lastRequired: message('portal:passkeys.errors.lastRequired'),
  notFound: message('portal:passkeys.errors.notFound'),
} as const;

/** Which factor a sign-in code matched, or null. */
export type PortalCodeMatch = { factor: 'totp' } | { factor: 'recovery_code'; remaining: number } | null;

/** The secret's authenticated context: a row copied to another account fails to decrypt. */
const secretContext = (accountId: number) => `portal_totp:${accountId}`;

/**
 * A portal account's optional second factor: an authenticator app with recovery codes. The
 * crypto (TOTP steps, secret encryption, recovery-code hashing) is the staff implementation's
 * (src/auth/mfa/); the storage is the portal's own. Every change is audited and the address on
 * file is told through the outbox.
 */
@Injectable()
export class PortalSecondFactorService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly factors: PortalFactorsRepository,
    private readonly accounts: PortalAccountsRepository,
    private readonly keys: MfaKeys,
    private readonly relyingParty: WebAuthnRelyingParty,
    private readonly policy: MfaPolicyService,
    private readonly notices: AccountNoticesService,
    private readonly audit: AuditService,
  ) {}

  hasFactor(accountId: number): Promise<boolean> {
    return this.factors.hasFactor(accountId);
  }

  /** "Require a second factor for patients" (the admin security page); offered only, by default. */
  isRequired(): Promise<boolean> {
    return this.policy.isRequired(undefined, 'portal');
  }

  async status(accountId: number): Promise<PortalSecondFactorStatus> {
    const [totp, passkeys, recoveryCodesRemaining, required] = await Promise.all([
      this.factors.totpOf(accountId),
      this.factors.passkeysOf(accountId),
      this.factors.remainingRecoveryCodes(accountId),
      this.isRequired(),
    ]);
    const hasTotp = Boolean(totp?.enabledAt);
    return { totp: hasTotp, passkeys, any: hasTotp || passkeys.length > 0, recoveryCodesRemaining, required };
  }

  /** The unconfirmed secret of an enrolment (created on first call) with its QR code; nothing is on until a code confirms it. */
  async totpSetup(accountId: number, label: string): Promise<TotpSetup> {
    let row = await this.factors.totpOf(accountId);
    if (row?.enabledAt) throw new ConflictException(message('messages:secondFactor.alreadySetUp'));
    if (!row) {
      await this.factors.addTotpIfAbsent(accountId, this.keys.encrypt(newTotpSecret(), secretContext(accountId)), new Date());
      row = (await this.factors.totpOf(accountId))!;
    }
    return totpSetupFor(this.keys.decrypt(row.secretEncrypted, secretContext(accountId)), this.config.clinicName, label);
  }

  /** Confirms the app with a code; new recovery codes (shown once) when none are left. Null when the code is wrong. */
  async activateTotp(accountId: number, code: string, actor: AuditContext): Promise<{ recoveryCodes: string[] | null } | null> {
    const row = await this.factors.totpOf(accountId);
    const step = row && !row.enabledAt ? await totpStepOf(this.decrypt(accountId, row.secretEncrypted), null, code) : null;
    return runInTransaction(this.dataSource, async (tx) => {
      if (step === null || !(await this.factors.enableTotp(accountId, step, new Date(), tx))) {
        await this.audit.record(
          actor,
          { action: 'patient.second_factor_added', outcome: 'failure', patientId: accountId, details: { reason: 'wrong_code' } },
          tx,
        );
        return null;
      }
      const recoveryCodes = (await this.factors.remainingRecoveryCodes(accountId, tx))
        ? null
        : await this.newCodes(accountId, tx);
      const notified = await this.notify(tx, accountId, 'second_factor_added', { method: 'totp' });
      await this.audit.record(
        actor,
        { action: 'patient.second_factor_added', patientId: accountId, details: { factor: 'totp', patientNotified: notified } },
        tx,
      );
      return { recoveryCodes };
    });
  }

  /** Removes the app; refused while the policy requires a second factor and it is the last one. */
  async removeTotp(accountId: number, actor: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.factors.removeTotp(accountId, tx)))
        throw new ConflictException(message('messages:secondFactor.noneSetUp'));
      const left = await this.afterRemoval(accountId, tx, () =>
        Promise.reject(new ConflictException(message('messages:secondFactor.required'))),
      );
      const notified = await this.notify(tx, accountId, 'second_factor_removed', {
        method: 'totp',
        remaining: left ? 'some' : 'none',
      });
      await this.audit.record(
        actor,
        { action: 'patient.second_factor_removed', patientId: accountId, details: { factor: 'totp', patientNotified: notified } },
        tx,
      );
    });
  }

  /** The browser's registration options for one more passkey (the challenge is kept by the caller). */
  async passkeyRegistrationOptions(
    accountId: number,
    holder: { username: string; displayName: string },
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.factors.passkeysOf(accountId);
    if (existing.length >= MAX_PASSKEYS_PER_USER) throw new BadRequestException(PASSKEY_ERRORS.tooMany);
    return this.relyingParty.registrationOptions({
      userName: holder.username,
      displayName: holder.displayName,
      userHandle: this.keys.userHandle(accountId, 'portal'),
      existing: existing.map((key) => ({ ...key, publicKey: '' })),
    });
  }

  /**
   * Verifies the browser's answer and stores the passkey; new recovery codes (shown once) when none
   * are left. The address on file is told and the change audited, in the same transaction.
   */
  async registerPasskey(
    accountId: number,
    name: string,
    response: RegistrationResponseJSON,
    expectedChallenge: string | null,
    actor: AuditContext,
  ): Promise<{ passkey: PortalPasskeyRow; recoveryCodes: string[] | null }> {
    const refuse = async (reason: string, message: string) => {
      await this.audit.record(actor, {
        action: 'patient.second_factor_added',
        outcome: 'failure',
        patientId: accountId,
        details: { factor: 'passkey', reason },
      });
      throw new BadRequestException(message);
    };
    if (!expectedChallenge) return refuse('challenge_expired', PASSKEY_ERRORS.expired);
    let credential;
    try {
      credential = await this.relyingParty.verifyRegistration(response, expectedChallenge);
    } catch {
      return refuse('not_verified', PASSKEY_ERRORS.refused);
    }
    const added = await runInTransaction(this.dataSource, async (tx) => {
      if (await this.factors.credentialRegistered(credential.credentialId, tx)) return null;
      if ((await this.factors.passkeysOf(accountId, tx)).length >= MAX_PASSKEYS_PER_USER)
        throw new BadRequestException(PASSKEY_ERRORS.tooMany);
      const passkey = await this.factors.addPasskey(accountId, { ...credential, name }, new Date(), tx);
      const recoveryCodes = (await this.factors.remainingRecoveryCodes(accountId, tx))
        ? null
        : await this.newCodes(accountId, tx);
      const notified = await this.notify(tx, accountId, 'second_factor_added', { method: 'passkey', passkeyName: name });
      await this.audit.record(
        actor,
        {
          action: 'patient.second_factor_added',
          patientId: accountId,
          details: { factor: 'passkey', passkeyId: passkey.id, name, patientNotified: notified },
        },
        tx,
      );
      return { passkey, recoveryCodes };
    });
    return added ?? refuse('duplicate', PASSKEY_ERRORS.duplicate);
  }

  /**
   * Removes one of the account's own passkeys (the caller has checked the password). Refused when
   * the policy requires a second factor and it is the last one; with no factor left the recovery
   * codes go too.
   */
  async removePasskey(accountId: number, passkeyId: number, actor: AuditContext): Promise<PortalPasskeyRow> {
    return runInTransaction(this.dataSource, async (tx) => {
      const removed = await this.factors.removePasskey(accountId, passkeyId, tx);
      if (!removed) throw new NotFoundException(PASSKEY_ERRORS.notFound);
      const left = await this.afterRemoval(accountId, tx, () =>
        Promise.reject(new ConflictException(PASSKEY_ERRORS.lastRequired)),
      );
      const notified = await this.notify(tx, accountId, 'second_factor_removed', {
        method: 'passkey',
        passkeyName: removed.name,
        remaining: left ? 'some' : 'none',
      });
      await this.audit.record(
        actor,
        {
          action: 'patient.second_factor_removed',
          patientId: accountId,
          details: { factor: 'passkey', passkeyId, name: removed.name, patientNotified: notified },
        },
        tx,
      );
      return removed;
    });
  }

  /** The sign-in's second step with a passkey: options naming the account's passkeys. */
  async passkeySignInOptions(accountId: number): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const keys = await this.factors.passkeysOf(accountId);
    if (!keys.length) throw new BadRequestException(PASSKEY_ERRORS.notFound);
    return this.relyingParty.authenticationOptions(keys.map((key) => ({ ...key, publicKey: '' })));
  }

  /** True when the assertion is valid for one of the account's passkeys; records its counter and last use. */
  async matchPasskey(
    accountId: number,
    response: AuthenticationResponseJSON,
    expectedChallenge: string | null,
  ): Promise<boolean> {
    const credentialId = assertedCredentialId(response);
    if (!expectedChallenge || !credentialId) return false;
    const key = await this.factors.passkeyForSignIn(accountId, credentialId);
    if (!key) return false;
    const counter = await this.relyingParty.verifyAuthentication(response, expectedChallenge, key, `portal account ${accountId}`);
    if (counter === null) return false;
    await this.factors.recordPasskeyUse(key.id, counter, new Date());
    return true;
  }

  /**
   * After a factor was removed in `tx`: true when another remains. With none left, the removal is
   * refused (`refuse` throws, rolling back) while the policy requires one, and the recovery codes go:
   * they only recover a factor, and alone they would be a way around the second step later.
   */
  private async afterRemoval(accountId: number, tx: EntityManager, refuse: () => Promise<never>): Promise<boolean> {
    if (await this.factors.hasFactor(accountId, tx)) return true;
    if (await this.policy.isRequired(tx, 'portal')) await refuse();
    await this.factors.removeRecoveryCodes(accountId, tx);
    return false;
  }

  /** New recovery codes replace the old ones; only with a factor to recover. */
  async regenerateRecoveryCodes(accountId: number, actor: AuditContext): Promise<string[]> {
    return runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.factors.hasFactor(accountId, tx)))
        throw new ConflictException(message('messages:secondFactor.setUpFirst'));
      const codes = await this.newCodes(accountId, tx);
      await this.audit.record(actor, { action: 'patient.recovery_codes_generated', patientId: accountId }, tx);
      return codes;
    });
  }

  /**
   * A sign-in's second step: a 6-digit code from the app (each step usable once) or a recovery
   * code (used up; the address on file is told). The caller counts failures with the lockout.
   */
  async matchCode(accountId: number, code: string, actor: AuditContext): Promise<PortalCodeMatch> {
    if (looksLikeTotpCode(code)) {
      const row = await this.factors.totpOf(accountId);
      if (!row?.enabledAt) return null;
      const step = await totpStepOf(this.decrypt(accountId, row.secretEncrypted), row.lastUsedStep, code);
      return step !== null && (await this.factors.useTotpStep(accountId, step)) ? { factor: 'totp' } : null;
    }
    const normalized = normalizeRecoveryCode(code);
    if (!/^[0-9a-z]{10}$/.test(normalized)) return null;
    return runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.factors.useRecoveryCode(accountId, this.keys.hashRecoveryCode(normalized), new Date(), tx))) return null;
      const remaining = await this.factors.remainingRecoveryCodes(accountId, tx);
      const notified = await this.notify(tx, accountId, 'recovery_code_used', { remaining: String(remaining) });
      await this.audit.record(
        actor,
        { action: 'patient.recovery_code_used', patientId: accountId, details: { remaining, patientNotified: notified } },
        tx,
      );
      return { factor: 'recovery_code', remaining } as const;
    });
  }

  private decrypt(accountId: number, stored: string): string {
    return this.keys.decrypt(stored, secretContext(accountId));
  }

  private async newCodes(accountId: number, tx: EntityManager): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.factors.replaceRecoveryCodes(
      accountId,
      codes.map((code) => this.keys.hashRecoveryCode(normalizeRecoveryCode(code))),
      tx,
    );
    return codes;
  }

  /** Queues a notice to the address on file; false when there is none. */
  private async notify(
    tx: EntityManager,
    accountId: number,
    notice: 'second_factor_added' | 'second_factor_removed' | 'recovery_code_used',
    model: Record<string, string>,
  ): Promise<boolean> {
    const holder = await this.accounts.holderOf(accountId, tx);
    if (!holder?.email) return false;
    await this.notices.queue(tx, notice, holder.email, accountId, { firstName: holder.firstName, ...model });
    return true;
  }
}
