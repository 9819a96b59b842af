import { ConflictException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { MfaKeys } from '../../auth/mfa/mfa-keys';
import { MfaPolicyService } from '../../auth/mfa/mfa-policy.service';
import { newRecoveryCodes, normalizeRecoveryCode } from '../../auth/mfa/recovery-codes.service';
import { looksLikeTotpCode, newTotpSecret, totpSetupFor, totpStepOf, type TotpSetup } from '../../auth/mfa/totp.service';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';
import { AccountNoticesService } from '../../invitations/account-notices.service';
import { PortalAccountsRepository } from '../../portal-access/portal-accounts.repository';
import { PortalFactorsRepository } from './portal-factors.repository';
import { message } from '../../i18n/messages';

const AUTHENTICATOR_APP = 'An authenticator app';

export interface PortalSecondFactorStatus {
  totp: boolean;
  recoveryCodesRemaining: number;
  required: boolean;
}

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
    const [totp, recoveryCodesRemaining, required] = await Promise.all([
      this.factors.hasFactor(accountId),
      this.factors.remainingRecoveryCodes(accountId),
      this.isRequired(),
    ]);
    return { totp, recoveryCodesRemaining, required };
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
      const notified = await this.notify(tx, accountId, 'second_factor_added', { method: AUTHENTICATOR_APP });
      await this.audit.record(
        actor,
        { action: 'patient.second_factor_added', patientId: accountId, details: { factor: 'totp', patientNotified: notified } },
        tx,
      );
      return { recoveryCodes };
    });
  }

  /** Removes the app and the recovery codes with it; refused while the policy requires a second factor. */
  async removeTotp(accountId: number, actor: AuditContext): Promise<void> {
    if (await this.isRequired()) throw new ConflictException(message('messages:secondFactor.required'));
    await runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.factors.removeTotp(accountId, tx)))
        throw new ConflictException(message('messages:secondFactor.noneSetUp'));
      // Recovery codes only recover a factor; with none left they would be a way around the password's second step later.
      await this.factors.removeRecoveryCodes(accountId, tx);
      const notified = await this.notify(tx, accountId, 'second_factor_removed', {
        method: AUTHENTICATOR_APP,
        remaining: 'none',
      });
      await this.audit.record(
        actor,
        { action: 'patient.second_factor_removed', patientId: accountId, details: { factor: 'totp', patientNotified: notified } },
        tx,
      );
    });
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
