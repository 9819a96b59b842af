import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { FormValidationException } from '../common/validation/form-validation.exception';
import { isSqliteManager, toSqlDateTime } from '../database/sql';
import { AccountNoticesService } from '../invitations/account-notices.service';
import { PortalTokensService } from '../invitations/portal-tokens.service';
import { checkUsername } from '../portal/usernames';
import { runInTransaction } from '../database/transactions';

export const CONCURRENT_ACCOUNT_CHANGE = 'This patient’s portal account was changed by someone else — reload the page and try again.';

interface LockedAccount {
  patientId: number;
  accessEnabled: boolean;
  username: string | null;
  lockedUntil: string | null;
  failedLoginCount: number;
  version: number;
  firstName: string;
  email: string | null;
}

/** A staff member's changes to one patient's portal account from the dashboard's Patient Portal tab. */
@Injectable()
export class PortalAccountAdminService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly tokens: PortalTokensService,
    private readonly notices: AccountNoticesService,
  ) {}

  /**
   * Turns access off: every outstanding invite/reset link is revoked and the patient's
   * open portal sessions end (session generation bumped). Already disabled: nothing changes.
   */
  async disable(patientId: number, reason: string, version: number, context: AuditContext): Promise<{ changed: boolean }> {
    return this.change(patientId, version, async (tx, account, now) => {
      if (!account.accessEnabled) return false;
      await tx.query('UPDATE portal_accounts SET access_enabled = 0, session_generation = session_generation + 1, version = version + 1, updated_at = ? WHERE patient_id = ?', [now, patientId]);
      const revoked = await this.tokens.revokeTokens(patientId, 'access_disabled', tx);
      await this.audit.record(context, { action: 'portal.access_disabled', patientId, details: { reason, revokedLinks: revoked } }, tx);
      return true;
    });
  }

  async unlock(patientId: number, version: number, context: AuditContext): Promise<{ changed: boolean }> {
    return this.change(patientId, version, async (tx, account, now) => {
      if (!account.lockedUntil && account.failedLoginCount === 0) return false;
      await tx.query('UPDATE portal_accounts SET locked_until = NULL, failed_login_count = 0, version = version + 1, updated_at = ? WHERE patient_id = ?', [now, patientId]);
      await this.audit.record(context, { action: 'portal.account_unlocked', patientId }, tx);
      return true;
    });
  }

  /** A new username (unique ignoring case and width); the patient is told at the email on file. */
  async changeUsername(patientId: number, requested: string, version: number, context: AuditContext): Promise<{ changed: boolean }> {
    const checked = checkUsername(requested);
    if ('problem' in checked) throw new FormValidationException({ username: [checked.problem] });
    return this.change(patientId, version, async (tx, account, now) => {
      if (account.username === checked.username) return false;
      if (!account.username) throw new FormValidationException({ username: ['The patient chooses a username from the invite link; it can be changed once it exists.'] });
      const [taken] = await tx.query('SELECT patient_id FROM portal_accounts WHERE username_key = ? AND patient_id <> ?', [checked.key, patientId]);
      if (taken) throw new FormValidationException({ username: ['That username is not available.'] });
      await tx.query('UPDATE portal_accounts SET username = ?, username_key = ?, version = version + 1, updated_at = ? WHERE patient_id = ?', [checked.username, checked.key, now, patientId]);
      if (account.email) await this.notices.queue(tx, 'username_changed', account.email, patientId, { firstName: account.firstName, newUsername: checked.username });
      await this.audit.record(context, { action: 'portal.username_changed', patientId, details: { from: account.username, to: checked.username, patientNotified: Boolean(account.email) } }, tx);
      return true;
    });
  }

  /** Locks the account row, checks the version the form was built from, applies one change. */
  private async change(patientId: number, version: number, apply: (tx: EntityManager, account: LockedAccount, now: string) => Promise<boolean>): Promise<{ changed: boolean }> {
    return runInTransaction(this.dataSource, async (tx) => {
      const rows: Array<Record<string, unknown>> = await tx.query(
        `SELECT pa.patient_id, pa.access_enabled, pa.username, pa.locked_until, pa.failed_login_count, pa.version, p.first_name, p.email
           FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.patient_id = ?${isSqliteManager(tx) ? '' : ' FOR UPDATE'}`,
        [patientId],
      );
      const row = rows[0];
      if (!row) throw new NotFoundException('No such patient.');
      if (Number(row.version) !== version) throw new ConflictException(CONCURRENT_ACCOUNT_CHANGE);
      const account: LockedAccount = {
        patientId,
        accessEnabled: Number(row.access_enabled) === 1,
        username: (row.username as string | null) ?? null,
        lockedUntil: (row.locked_until as string | null) ?? null,
        failedLoginCount: Number(row.failed_login_count),
        version: Number(row.version),
        firstName: String(row.first_name),
        email: (row.email as string | null) ?? null,
      };
      return { changed: await apply(tx, account, toSqlDateTime(new Date())) };
    });
  }
}
