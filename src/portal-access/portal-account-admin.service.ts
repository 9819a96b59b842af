import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { FormValidationException } from '../common/validation/form-validation.exception';
import { AccountNoticesService } from '../invitations/account-notices.service';
import { PortalTokensService } from '../invitations/portal-tokens.service';
import { type LockedAccount, PortalAccountsRepository } from './portal-accounts.repository';
import { checkUsername } from './usernames';
import { RepresentativesService } from './representatives/representatives.service';
import { runInTransaction } from '../database/transactions';
import { message } from '../i18n/messages';

export const CONCURRENT_ACCOUNT_CHANGE = message('staff:refusal.accountChanged');

/** A staff member's changes to one patient's portal account from the dashboard's Patient Portal tab. */
@Injectable()
export class PortalAccountAdminService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly tokens: PortalTokensService,
    private readonly notices: AccountNoticesService,
    private readonly accounts: PortalAccountsRepository,
    private readonly representatives: RepresentativesService,
  ) {}

  /**
   * Turns access off: every outstanding invite/reset link is revoked and the patient's
   * open portal sessions end (session generation bumped). Already disabled: nothing changes.
   */
  async disable(patientId: number, reason: string, version: number, context: AuditContext): Promise<{ changed: boolean }> {
    return this.change(patientId, version, async (tx, account, now) => {
      if (!account.accessEnabled) return false;
      await this.accounts.disable([patientId], now, tx);
      const revoked = await this.tokens.revokeTokens(patientId, 'access_disabled', tx);
      // Their representatives reach the patient through this access: it ends for them too.
      const representativesEnded = await this.representatives.endForDisabledPatients([patientId], context, tx, now);
      await this.audit.record(
        context,
        { action: 'portal.access_disabled', patientId, details: { reason, revokedLinks: revoked, representativesEnded } },
        tx,
      );
      return true;
    });
  }

  async unlock(patientId: number, version: number, context: AuditContext): Promise<{ changed: boolean }> {
    return this.change(patientId, version, async (tx, account, now) => {
      if (!account.lockedUntil && account.failedLoginCount === 0) return false;
      await this.accounts.unlock(patientId, now, tx);
      await this.audit.record(context, { action: 'portal.account_unlocked', patientId }, tx);
      return true;
    });
  }

  /** A new username (unique ignoring case and width); the patient is told at the email on file. */
  async changeUsername(
    patientId: number,
    requested: string,
    version: number,
    context: AuditContext,
  ): Promise<{ changed: boolean }> {
    const checked = checkUsername(requested);
    if ('problem' in checked) throw new FormValidationException({ username: [checked.problem] });
    return this.change(patientId, version, async (tx, account, now) => {
      if (account.username === checked.username) return false;
      if (!account.username)
        throw new FormValidationException({
          username: [message('staff:form.usernameNotYet')],
        });
      if (await this.accounts.usernameTaken(checked.key, patientId, tx))
        throw new FormValidationException({ username: [message('staff:form.usernameTaken')] });
      await this.accounts.changeUsername(patientId, checked.username, checked.key, now, tx);
      if (account.email)
        await this.notices.queue(tx, 'username_changed', account.email, patientId, {
          firstName: account.firstName,
          newUsername: checked.username,
        });
      await this.audit.record(
        context,
        {
          action: 'portal.username_changed',
          patientId,
          details: { from: account.username, to: checked.username, patientNotified: Boolean(account.email) },
        },
        tx,
      );
      return true;
    });
  }

  /** Locks the account row, checks the version the form was built from, applies one change. */
  private async change(
    patientId: number,
    version: number,
    apply: (tx: EntityManager, account: LockedAccount, now: Date) => Promise<boolean>,
  ): Promise<{ changed: boolean }> {
    return runInTransaction(this.dataSource, async (tx) => {
      const account = await this.accounts.lockForChange(patientId, tx);
      if (!account) throw new NotFoundException(message('staff:refusal.noSuchPatient'));
      if (account.version !== version) throw new ConflictException(CONCURRENT_ACCOUNT_CHANGE);
      return { changed: await apply(tx, account, new Date()) };
    });
  }
}
