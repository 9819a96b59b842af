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
import { RepresentativeAccountsRepository } from '../../portal-access/representative-accounts.repository';
import type { AccountHolder } from '../account/account-holder';
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

/** The secret's authenticated context: a row copied to another account (or kind of account) fails to decrypt. */
/** A representative is greeted by the first word of the name staff recorded. */
export const firstNameOf = (fullName: string) => fullName.trim().split(/\s+/)[0] ?? '';

const secretContext = (holder: AccountHolder) =>
  holder.kind === 'patient' ? `portal_totp:${holder.id}` : `representative_totp:${holder.id}`;

/** Audit rows of a patient's account are "patient.*" and carry the patient; a representative's are "representative.*". */
const auditOf = (holder: AccountHolder, what: string) =>
  holder.kind === 'patient'
    ? { action: `patient.${what}`, patientId: holder.id }
    : { action: `representative.${what}`, patientId: undefined };
/** Whether the address on file was told, under the name the audit trail reads for that kind of account. */
const notifiedOf = (holder: AccountHolder, notified: boolean) =>
  holder.kind === 'patient' ? { patientNotified: notified } : { representativeNotified: notified };

/**
 * An account holder's optional second factor (a patient's portal account, or a representative's own
 * account: AccountHolder): an authenticator app or passkeys, with recovery codes. The
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
    private readonly representativeAccounts: RepresentativeAccountsRepository,
    private readonly keys: MfaKeys,
    private readonly relyingParty: WebAuthnRelyingParty,
    private readonly policy: MfaPolicyService,
    private readonly notices: AccountNoticesService,
    private readonly audit: AuditService,
  ) {}

  hasFactor(holder: AccountHolder): Promise<boolean> {
    return this.factors.hasFactor(holder);
  }

  /** "Require a second factor for patients" (the admin security page), for representatives too; offered only, by default. */
  isRequired(): Promise<boolean> {
    return this.policy.isRequired(undefined, 'portal');
  }

  async status(holder: AccountHolder): Promise<PortalSecondFactorStatus> {
    const [totp, passkeys, recoveryCodesRemaining, required] = await Promise.all([
      this.factors.totpOf(holder),
      this.factors.passkeysOf(holder),
      this.factors.remainingRecoveryCodes(holder),
      this.isRequired(),
    ]);
    const hasTotp = Boolean(totp?.enabledAt);
    return { totp: hasTotp, passkeys, any: hasTotp || passkeys.length > 0, recoveryCodesRemaining, required };
  }

  /** The unconfirmed secret of an enrolment (created on first call) with its QR code; nothing is on until a code confirms it. */
  async totpSetup(holder: AccountHolder, label: string): Promise<TotpSetup> {
    let row = await this.factors.totpOf(holder);
    if (row?.enabledAt) throw new ConflictException(message('messages:secondFactor.alreadySetUp'));
    if (!row) {
      await this.factors.addTotpIfAbsent(holder, this.keys.encrypt(newTotpSecret(), secretContext(holder)), new Date());
      row = (await this.factors.totpOf(holder))!;
    }
    return totpSetupFor(this.keys.decrypt(row.secretEncrypted, secretContext(holder)), this.config.clinicName, label);
  }

  /** Confirms the app with a code; new recovery codes (shown once) when none are left. Null when the code is wrong. */
  async activateTotp(
    holder: AccountHolder,
    code: string,
    actor: AuditContext,
  ): Promise<{ recoveryCodes: string[] | null } | null> {
    const row = await this.factors.totpOf(holder);
    const step = row && !row.enabledAt ? await totpStepOf(this.decrypt(holder, row.secretEncrypted), null, code) : null;
    return runInTransaction(this.dataSource, async (tx) => {
      if (step === null || !(await this.factors.enableTotp(holder, step, new Date(), tx))) {
        await this.audit.record(
          actor,
          { ...auditOf(holder, 'second_factor_added'), outcome: 'failure', details: { reason: 'wrong_code' } },
          tx,
        );
        return null;
      }
      const recoveryCodes = (await this.factors.remainingRecoveryCodes(holder, tx)) ? null : await this.newCodes(holder, tx);
      const notified = await this.notify(tx, holder, 'second_factor_added', { method: 'totp' });
      await this.audit.record(
        actor,
        { ...auditOf(holder, 'second_factor_added'), details: { factor: 'totp', ...notifiedOf(holder, notified) } },
        tx,
      );
      return { recoveryCodes };
    });
  }

  /** Removes the app; refused while the policy requires a second factor and it is the last one. */
  async removeTotp(holder: AccountHolder, actor: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.factors.removeTotp(holder, tx))) throw new ConflictException(message('messages:secondFactor.noneSetUp'));
      const left = await this.afterRemoval(holder, tx, () =>
        Promise.reject(new ConflictException(message('messages:secondFactor.required'))),
      );
      const notified = await this.notify(tx, holder, 'second_factor_removed', {
        method: 'totp',
        remaining: left ? 'some' : 'none',
      });
      await this.audit.record(
        actor,
        { ...auditOf(holder, 'second_factor_removed'), details: { factor: 'totp', ...notifiedOf(holder, notified) } },
        tx,
      );
    });
  }

  /** The browser's registration options for one more passkey (the challenge is kept by the caller). */
  async passkeyRegistrationOptions(
    holder: AccountHolder,
    person: { username: string; displayName: string },
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.factors.passkeysOf(holder);
    if (existing.length >= MAX_PASSKEYS_PER_USER) throw new BadRequestException(PASSKEY_ERRORS.tooMany);
    return this.relyingParty.registrationOptions({
      userName: person.username,
      displayName: person.displayName,
      userHandle: this.keys.userHandle(holder.id, holder.kind === 'patient' ? 'portal' : 'representative'),
      existing: existing.map((key) => ({ ...key, publicKey: '' })),
    });
  }

  /**
   * Verifies the browser's answer and stores the passkey; new recovery codes (shown once) when none
   * are left. The address on file is told and the change audited, in the same transaction.
   */
  async registerPasskey(
    holder: AccountHolder,
    name: string,
    response: RegistrationResponseJSON,
    expectedChallenge: string | null,
    actor: AuditContext,
  ): Promise<{ passkey: PortalPasskeyRow; recoveryCodes: string[] | null }> {
    const refuse = async (reason: string, message: string) => {
      await this.audit.record(actor, {
        ...auditOf(holder, 'second_factor_added'),
        outcome: 'failure',
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
      if (await this.factors.credentialRegistered(holder, credential.credentialId, tx)) return null;
      if ((await this.factors.passkeysOf(holder, tx)).length >= MAX_PASSKEYS_PER_USER)
        throw new BadRequestException(PASSKEY_ERRORS.tooMany);
      const passkey = await this.factors.addPasskey(holder, { ...credential, name }, new Date(), tx);
      const recoveryCodes = (await this.factors.remainingRecoveryCodes(holder, tx)) ? null : await this.newCodes(holder, tx);
      const notified = await this.notify(tx, holder, 'second_factor_added', { method: 'passkey', passkeyName: name });
      await this.audit.record(
        actor,
        {
          ...auditOf(holder, 'second_factor_added'),
          details: { factor: 'passkey', passkeyId: passkey.id, name, ...notifiedOf(holder, notified) },
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
  async removePasskey(holder: AccountHolder, passkeyId: number, actor: AuditContext): Promise<PortalPasskeyRow> {
    return runInTransaction(this.dataSource, async (tx) => {
      const removed = await this.factors.removePasskey(holder, passkeyId, tx);
      if (!removed) throw new NotFoundException(PASSKEY_ERRORS.notFound);
      const left = await this.afterRemoval(holder, tx, () => Promise.reject(new ConflictException(PASSKEY_ERRORS.lastRequired)));
      const notified = await this.notify(tx, holder, 'second_factor_removed', {
        method: 'passkey',
        passkeyName: removed.name,
        remaining: left ? 'some' : 'none',
      });
      await this.audit.record(
        actor,
        {
          ...auditOf(holder, 'second_factor_removed'),
          details: { factor: 'passkey', passkeyId, name: removed.name, ...notifiedOf(holder, notified) },
        },
        tx,
      );
      return removed;
    });
  }

  /**
   * Gives one of the account's own passkeys a new name (already validated by PortalPasskeyNameDto);
   * audited when it changed. Nothing is emailed: a name is no change to how the account signs in.
   */
  async renamePasskey(
    holder: AccountHolder,
    passkeyId: number,
    name: string,
    actor: AuditContext,
  ): Promise<{ from: string; name: string; changed: boolean }> {
    return runInTransaction(this.dataSource, async (tx) => {
      const before = await this.factors.renamePasskey(holder, passkeyId, name, tx);
      if (!before) throw new NotFoundException(PASSKEY_ERRORS.notFound);
      const changed = before.name !== name;
      if (changed)
        await this.audit.record(
          actor,
          { ...auditOf(holder, 'passkey_renamed'), details: { passkeyId, from: before.name, name } },
          tx,
        );
      return { from: before.name, name, changed };
    });
  }

  /** The sign-in's second step with a passkey: options naming the account's passkeys. */
  async passkeySignInOptions(holder: AccountHolder): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const keys = await this.factors.passkeysOf(holder);
    if (!keys.length) throw new BadRequestException(PASSKEY_ERRORS.notFound);
    return this.relyingParty.authenticationOptions(keys.map((key) => ({ ...key, publicKey: '' })));
  }

  /** True when the assertion is valid for one of the account's passkeys; records its counter and last use. */
  async matchPasskey(
    holder: AccountHolder,
    response: AuthenticationResponseJSON,
    expectedChallenge: string | null,
  ): Promise<boolean> {
    const credentialId = assertedCredentialId(response);
    if (!expectedChallenge || !credentialId) return false;
    const key = await this.factors.passkeyForSignIn(holder, credentialId);
    if (!key) return false;
    const counter = await this.relyingParty.verifyAuthentication(
      response,
      expectedChallenge,
      key,
      `${holder.kind} account ${holder.id}`,
    );
    if (counter === null) return false;
    await this.factors.recordPasskeyUse(holder, key.id, counter, new Date());
    return true;
  }

  /**
   * After a factor was removed in `tx`: true when another remains. With none left, the removal is
   * refused (`refuse` throws, rolling back) while the policy requires one, and the recovery codes go:
   * they only recover a factor, and alone they would be a way around the second step later.
   */
  private async afterRemoval(holder: AccountHolder, tx: EntityManager, refuse: () => Promise<never>): Promise<boolean> {
    if (await this.factors.hasFactor(holder, tx)) return true;
    if (await this.policy.isRequired(tx, 'portal')) await refuse();
    await this.factors.removeRecoveryCodes(holder, tx);
    return false;
  }

  /** New recovery codes replace the old ones; only with a factor to recover. */
  async regenerateRecoveryCodes(holder: AccountHolder, actor: AuditContext): Promise<string[]> {
    return runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.factors.hasFactor(holder, tx))) throw new ConflictException(message('messages:secondFactor.setUpFirst'));
      const codes = await this.newCodes(holder, tx);
      await this.audit.record(actor, auditOf(holder, 'recovery_codes_generated'), tx);
      return codes;
    });
  }

  /**
   * A sign-in's second step: a 6-digit code from the app (each step usable once) or a recovery
   * code (used up; the address on file is told). The caller counts failures with the lockout.
   */
  async matchCode(holder: AccountHolder, code: string, actor: AuditContext): Promise<PortalCodeMatch> {
    if (looksLikeTotpCode(code)) {
      const row = await this.factors.totpOf(holder);
      if (!row?.enabledAt) return null;
      const step = await totpStepOf(this.decrypt(holder, row.secretEncrypted), row.lastUsedStep, code);
      return step !== null && (await this.factors.useTotpStep(holder, step)) ? { factor: 'totp' } : null;
    }
    const normalized = normalizeRecoveryCode(code);
    if (!/^[0-9a-z]{10}$/.test(normalized)) return null;
    return runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.factors.useRecoveryCode(holder, this.keys.hashRecoveryCode(normalized), new Date(), tx))) return null;
      const remaining = await this.factors.remainingRecoveryCodes(holder, tx);
      const notified = await this.notify(tx, holder, 'recovery_code_used', { remaining: String(remaining) });
      await this.audit.record(
        actor,
        { ...auditOf(holder, 'recovery_code_used'), details: { remaining, ...notifiedOf(holder, notified) } },
        tx,
      );
      return { factor: 'recovery_code', remaining } as const;
    });
  }

  private decrypt(holder: AccountHolder, stored: string): string {
    return this.keys.decrypt(stored, secretContext(holder));
  }

  private async newCodes(holder: AccountHolder, tx: EntityManager): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.factors.replaceRecoveryCodes(
      holder,
      codes.map((code) => this.keys.hashRecoveryCode(normalizeRecoveryCode(code))),
      tx,
    );
    return codes;
  }

  /** Queues a notice to the address on file, in the holder's language; false when there is none. */
  private async notify(
    tx: EntityManager,
    holder: AccountHolder,
    notice: 'second_factor_added' | 'second_factor_removed' | 'recovery_code_used',
    model: Record<string, string>,
  ): Promise<boolean> {
    if (holder.kind === 'representative') {
      const rep = await this.representativeAccounts.passwordHolder(holder.id, tx);
      if (!rep) return false;
      const language = await this.representativeAccounts.emailLanguageOf(holder.id, null, tx);
      await this.notices.queue(tx, notice, rep.email, null, { firstName: firstNameOf(rep.fullName), ...model }, language);
      return true;
    }
    const patient = await this.accounts.holderOf(holder.id, tx);
    if (!patient?.email) return false;
    await this.notices.queue(tx, notice, patient.email, holder.id, { firstName: patient.firstName, ...model });
    return true;
  }
}
