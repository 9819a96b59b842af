import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { StaffUser } from '../entities/staff-user.entity';
import { StaffNoticeMailer, type StaffNotice } from '../staff-notice-mailer';
import { StaffPasskey } from './entities/staff-passkey.entity';
import { MfaPolicyService } from './mfa-policy.service';
import { PasskeysService } from './passkeys.service';
import { RecoveryCodesService } from './recovery-codes.service';
import { SecondFactorsRepository } from './second-factors.repository';
import { TotpService } from './totp.service';
import { runInTransaction } from '../../database/transactions';
import { message } from '../../i18n/messages';

export type TotpActivation = { activated: false } | { activated: true; recoveryCodes: string[] | null };

export const WRONG_ENROLMENT_CODE = message('messages:secondFactor.wrongEnrolmentCode');

export interface SecondFactorStatus {
  totp: boolean;
  passkeys: StaffPasskey[];
  recoveryCodesRemaining: number;
  required: boolean;
}

/** What a staff member has as a second factor, and every rule for adding, removing and resetting it. */
@Injectable()
export class SecondFactorService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly totp: TotpService,
    private readonly passkeys: PasskeysService,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly policy: MfaPolicyService,
    private readonly audit: AuditService,
    private readonly factors: SecondFactorsRepository,
    private readonly notices: StaffNoticeMailer,
  ) {}

  /** A confirmed authenticator app or at least one passkey (recovery codes alone are not a factor). */
  async hasSecondFactor(staffUserId: number, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    return this.factors.isEnrolled(staffUserId, manager);
  }

  /** Ids of the staff users who have a second factor (for the admin list). */
  async enrolledUserIds(): Promise<Set<number>> {
    return this.factors.enrolledUserIds();
  }

  async status(staffUserId: number): Promise<SecondFactorStatus> {
    const [totp, passkeys, recoveryCodesRemaining, required] = await Promise.all([
      this.totp.isEnabled(staffUserId),
      this.passkeys.list(staffUserId),
      this.recoveryCodes.remaining(staffUserId),
      this.policy.isRequired(),
    ]);
    return { totp, passkeys, recoveryCodesRemaining, required };
  }

  /**
   * Confirms the authenticator app with a code. On success, new recovery codes (to show once)
   * when the user had none left, else null.
   */
  async activateTotp(staffUserId: number, code: string, context: AuditContext): Promise<TotpActivation> {
    return runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.totp.activate(staffUserId, code, tx))) {
        await this.audit.record(
          context,
          { action: 'staff.totp_enrolled', outcome: 'failure', details: { staffUserId, reason: 'wrong_code' } },
          tx,
        );
        return { activated: false };
      }
      await this.audit.record(context, { action: 'staff.totp_enrolled', details: { staffUserId } }, tx);
      await this.notices.queueFor(tx, staffUserId, 'totp_added');
      return { activated: true, recoveryCodes: await this.codesIfNone(staffUserId, context, tx) };
    });
  }

  async registerPasskey(
    staffUserId: number,
    name: string,
    response: RegistrationResponseJSON,
    expectedChallenge: string,
    context: AuditContext,
  ): Promise<StaffPasskey> {
    return runInTransaction(this.dataSource, async (tx) => {
      const passkey = await this.passkeys.register(staffUserId, name, response, expectedChallenge, tx);
      await this.audit.record(
        context,
        { action: 'staff.passkey_registered', details: { staffUserId, passkeyId: passkey.id, name } },
        tx,
      );
      await this.notices.queueFor(tx, staffUserId, 'passkey_added');
      return passkey;
    });
  }

  async renamePasskey(
    staffUserId: number,
    passkeyId: number,
    name: string,
    context: AuditContext,
  ): Promise<StaffPasskey & { changed: boolean }> {
    const passkey = await this.passkeys.rename(staffUserId, passkeyId, name);
    if (passkey.changed)
      await this.audit.record(context, { action: 'staff.passkey_renamed', details: { staffUserId, passkeyId, name } });
    return passkey;
  }

  async removeTotp(staffUserId: number, context: AuditContext): Promise<void> {
    await this.removing(staffUserId, context, 'totp_removed', async (tx) => {
      if (!(await this.totp.remove(staffUserId, tx))) throw new NotFoundException('No authenticator app is set up.');
      return { action: 'staff.totp_removed', details: { staffUserId } };
    });
  }

  async removePasskey(staffUserId: number, passkeyId: number, context: AuditContext): Promise<StaffPasskey> {
    let removed: StaffPasskey | undefined;
    await this.removing(staffUserId, context, 'passkey_removed', async (tx) => {
      removed = await this.passkeys.remove(staffUserId, passkeyId, tx);
      return { action: 'staff.passkey_removed', details: { staffUserId, passkeyId, name: removed.name } };
    });
    return removed!;
  }

  /** New recovery codes replace the old ones; only for someone who has a second factor to recover. */
  async regenerateRecoveryCodes(staffUserId: number, context: AuditContext): Promise<string[]> {
    return runInTransaction(this.dataSource, async (tx) => {
      if (!(await this.hasSecondFactor(staffUserId, tx)))
        throw new ConflictException('Set up an authenticator app or a passkey first.');
      const codes = await this.recoveryCodes.regenerate(staffUserId, context, tx);
      await this.notices.queueFor(tx, staffUserId, 'recovery_codes_new');
      return codes;
    });
  }

  /** An admin clears another user's second factor: the user is signed out and must enrol again. */
  async adminReset(staffUserId: number, context: AuditContext): Promise<StaffUser> {
    if (staffUserId === context.actorId)
      throw new ConflictException('You cannot reset your own second factor. Ask another admin.');
    return runInTransaction(this.dataSource, async (tx) => {
      const user = await tx.findOneBy(StaffUser, { id: staffUserId });
      if (!user) throw new NotFoundException('No such staff user.');
      const totp = await this.totp.remove(staffUserId, tx);
      const passkeys = await this.passkeys.removeAll(staffUserId, tx);
      await this.recoveryCodes.removeAll(staffUserId, tx);
      await tx.update(StaffUser, { id: staffUserId }, { sessionGeneration: user.sessionGeneration + 1 });
      await this.audit.record(
        context,
        { action: 'admin.staff_second_factor_reset', details: { staffUserId, totp, passkeys } },
        tx,
      );
      return user;
    });
  }

  /** Turning the policy on signs out everyone without a second factor, so each must enrol at the next sign-in. */
  async setPolicy(required: boolean, context: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      const before = await this.policy.isRequired(tx);
      if (required && context.actorId !== null && !(await this.hasSecondFactor(context.actorId, tx))) {
        throw new ConflictException(
          'Set up your own second factor (Account → Sign-in security) before requiring one for all staff.',
        );
      }
      await this.policy.store(required, context.actorId, tx);
      let signedOut = 0;
      if (required) {
        signedOut = await this.factors.endSessionsOfUnenrolled(tx);
      }
      await this.audit.record(
        context,
        { action: 'admin.mfa_policy_changed', details: { from: before, to: required, signedOut } },
        tx,
      );
    });
  }

  /**
   * "Offer / require a second factor for patients" (portal accounts). Required: an account without
   * one sets it up right after its password at the next sign-in, before anything else.
   */
  async setPortalPolicy(required: boolean, context: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      const before = await this.policy.isRequired(tx, 'portal');
      await this.policy.store(required, context.actorId, tx, 'portal');
      await this.audit.record(
        context,
        { action: 'admin.portal_mfa_policy_changed', details: { from: before, to: required } },
        tx,
      );
    });
  }

  /** Runs a removal; refused (rolled back) when the policy requires a factor and none would be left. */
  private async removing(
    staffUserId: number,
    context: AuditContext,
    notice: StaffNotice,
    remove: (tx: EntityManager) => Promise<{ action: string; details: Record<string, unknown> }>,
  ): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      const entry = await remove(tx);
      if (!(await this.hasSecondFactor(staffUserId, tx))) {
        if (await this.policy.isRequired(tx))
          throw new ConflictException('Sign-in security requires a second factor: add another one before removing your last.');
        // Recovery codes only recover a factor; with none left they would be a password-free bypass later.
        await this.recoveryCodes.removeAll(staffUserId, tx);
      }
      await this.audit.record(context, entry, tx);
      await this.notices.queueFor(tx, staffUserId, notice);
    });
  }

  private async codesIfNone(staffUserId: number, context: AuditContext, tx: EntityManager): Promise<string[] | null> {
    return (await this.recoveryCodes.remaining(staffUserId, tx)) > 0
      ? null
      : this.recoveryCodes.regenerate(staffUserId, context, tx);
  }
}
