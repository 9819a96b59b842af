import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditQueryService } from '../../audit/audit-query.service';
import { AuditService } from '../../audit/audit.service';
import { ACCOUNT_HISTORY_ACTIONS, describeForAccountHolder, describePatientActivity } from '../../audit/patient-activity';
import { LOCKOUT_VALUES } from '../../auth/lockout/attempt-lock';
import { PATIENT_ATTEMPTS } from '../../auth/lockout/attempt-locks.repository';
import { PasswordHasher } from '../../auth/passwords/password-hasher.service';
import { checkNewPassword } from '../../auth/passwords/password-policy';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';
import { AccountNoticesService } from '../../invitations/account-notices.service';
import { PortalTokensService } from '../../invitations/portal-tokens.service';
import { PortalAccountsRepository } from '../../portal-access/portal-accounts.repository';
import { PatientAccountsService, passwordWordsOf, patientActor, type PatientPrincipal } from '../patient-accounts.service';
import { PortalSecondFactorService } from '../second-factor/portal-second-factor.service';
import { PortalSessionsRepository } from './portal-sessions.repository';
import { PortalSessionsService } from './portal-sessions.service';
import { message } from '../../i18n/messages';

/** How many lines of access history the account page shows. */
export const ACCOUNT_HISTORY_LENGTH = 20;

export type ChangePasswordResult = { ok: true; generation: number } | { ok: false; errors: Record<string, string[]> };

/**
 * The key of the signed-in portal account. Today a portal account is one patient's (its key is
 * the patient id); a representative's account gets the same page through this one seam.
 */
export const accountIdOf = (principal: PatientPrincipal): number => principal.patientId;

/**
 * The account page's rules: change the password (current one required, counted with sign-in
 * failures), list and end sessions, the access history. Every change is audited and the address
 * on file is told (AccountNoticesService, through the outbox).
 */
@Injectable()
export class PortalAccountService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly accounts: PortalAccountsRepository,
    private readonly signIns: PatientAccountsService,
    private readonly sessions: PortalSessionsService,
    private readonly sessionRows: PortalSessionsRepository,
    private readonly hasher: PasswordHasher,
    private readonly tokens: PortalTokensService,
    private readonly notices: AccountNoticesService,
    private readonly audit: AuditService,
    private readonly auditTrail: AuditQueryService,
    private readonly secondFactors: PortalSecondFactorService,
  ) {}

  async page(principal: PatientPrincipal, generation: number, currentHandle: string | undefined) {
    const accountId = accountIdOf(principal);
    const [sessions, history, secondFactor] = await Promise.all([
      this.sessions.list(accountId, generation, currentHandle),
      this.auditTrail.accountHistory(accountId, ACCOUNT_HISTORY_ACTIONS, ACCOUNT_HISTORY_LENGTH),
      this.secondFactors.status(accountId),
    ]);
    return {
      firstName: principal.firstName,
      username: principal.username,
      sessions,
      otherSessions: sessions.filter((session) => !session.current).length,
      secondFactor,
      history: describePatientActivity(history, describeForAccountHolder),
    };
  }

  /**
   * The new password passes the set-up rules first (a typo there costs no attempt); then the
   * current password is checked as a sign-in attempt would be: reserved before the slow hash,
   * a wrong one counted towards the lockout. On success every session of the account ends (the
   * caller signs this one in again), open reset links are revoked and the address on file is told.
   */
  async changePassword(
    principal: PatientPrincipal,
    form: { currentPassword: string; newPassword: string },
    context: AuditContext,
  ): Promise<ChangePasswordResult> {
    const accountId = accountIdOf(principal);
    const holder = await this.accounts.holderOf(accountId);
    if (!holder?.passwordHash) throw new BadRequestException(message('messages:account.noPassword'));
    const problems = checkNewPassword(form.newPassword, passwordWordsOf(holder, holder.username, this.config.clinicName));
    if (form.newPassword === form.currentPassword) problems.push(message('messages:password.sameAsCurrent'));
    if (problems.length) return { ok: false, errors: { newPassword: problems } };

    const actor = patientActor(context, accountId, principal.username);
    const now = new Date();
    const wrong = await this.checkCurrentPassword(
      accountId,
      holder.passwordHash,
      form.currentPassword,
      actor,
      'patient.password_changed',
      now,
    );
    if (wrong === 'locked')
      return { ok: false, errors: { currentPassword: [message('messages:password.locked', LOCKOUT_VALUES)] } };
    if (wrong) return { ok: false, errors: { currentPassword: [message('messages:password.wrongCurrent', LOCKOUT_VALUES)] } };
    const passwordHash = await this.hasher.hash(form.newPassword);
    await runInTransaction(this.dataSource, async (tx) => {
      // Clears the reserved attempt with the lockout and bumps the session generation: every session ends.
      await this.accounts.setPassword(accountId, passwordHash, null, now, tx);
      const ended = await this.sessionRows.endAllBut(accountId, null, 'password_changed', now, tx);
      await this.tokens.revokeTokensOf(tx, [accountId], 'password_set', now);
      if (holder.email)
        await this.notices.queue(tx, 'password_changed', holder.email, accountId, { firstName: holder.firstName });
      await this.audit.record(
        actor,
        {
          action: 'patient.password_changed',
          patientId: accountId,
          // The current session is signed in again by the caller; the others stay ended.
          details: { otherSessionsEnded: Math.max(0, ended - 1), patientNotified: Boolean(holder.email) },
        },
        tx,
      );
    });
    return { ok: true, generation: await this.accounts.sessionGeneration(accountId) };
  }

  /**
   * Removes a passkey once the current password is re-entered (a stolen, still signed-in session
   * alone cannot take a factor away), checked and counted like a sign-in attempt.
   */
  async removePasskey(
    principal: PatientPrincipal,
    passkeyId: number,
    currentPassword: string,
    context: AuditContext,
  ): Promise<{ ok: true; name: string } | { ok: false; error: 'locked' | 'wrong' }> {
    const accountId = accountIdOf(principal);
    const holder = await this.accounts.holderOf(accountId);
    if (!holder?.passwordHash) throw new BadRequestException(message('messages:account.noPassword'));
    const actor = patientActor(context, accountId, principal.username);
    const wrong = await this.checkCurrentPassword(
      accountId,
      holder.passwordHash,
      currentPassword,
      actor,
      'patient.second_factor_removed',
      new Date(),
    );
    if (wrong) return { ok: false, error: wrong };
    // The reserved attempt is released: a right password is not a failure.
    await PATIENT_ATTEMPTS.release(this.dataSource, accountId);
    const removed = await this.secondFactors.removePasskey(accountId, passkeyId, actor);
    return { ok: true, name: removed.name };
  }

  /**
   * The current password, checked as a sign-in attempt would be: reserved before the slow hash, a
   * wrong one counted towards the lockout (and audited under `action`). Null when it is right.
   */
  private async checkCurrentPassword(
    accountId: number,
    passwordHash: string,
    password: string,
    actor: AuditContext,
    action: string,
    now: Date,
  ): Promise<'locked' | 'wrong' | null> {
    if (!(await PATIENT_ATTEMPTS.reserve(this.dataSource, accountId, now))) {
      await this.audit.record(actor, { action, outcome: 'denied', patientId: accountId, details: { reason: 'locked' } });
      return 'locked';
    }
    if (!(await this.hasher.verify(passwordHash, password))) {
      await this.signIns.recordWrongPassword(accountId, actor, now, action);
      return 'wrong';
    }
    return null;
  }

  /** Ends one other session of the account (not the current one: that is "Sign out"). */
  async endSession(
    principal: PatientPrincipal,
    generation: number,
    currentHandle: string | undefined,
    handle: string,
    context: AuditContext,
  ) {
    if (handle === currentHandle) throw new BadRequestException(message('messages:account.endOwnSession'));
    const accountId = accountIdOf(principal);
    const target = (await this.sessions.list(accountId, generation, currentHandle)).find((session) => session.handle === handle);
    await runInTransaction(this.dataSource, async (tx) => {
      const ended = await this.sessionRows.end(accountId, handle, 'ended_by_patient', new Date(), tx);
      if (ended)
        await this.audit.record(
          patientActor(context, accountId, principal.username),
          { action: 'patient.session_ended', patientId: accountId, details: { device: target?.device ?? null } },
          tx,
        );
    });
  }

  /** Ends every session of the account but the current one; returns how many ended. */
  async endOtherSessions(principal: PatientPrincipal, currentHandle: string | undefined, context: AuditContext): Promise<number> {
    const accountId = accountIdOf(principal);
    return runInTransaction(this.dataSource, async (tx) => {
      const count = await this.sessionRows.endAllBut(accountId, currentHandle ?? null, 'ended_by_patient', new Date(), tx);
      if (count)
        await this.audit.record(
          patientActor(context, accountId, principal.username),
          { action: 'patient.sessions_ended', patientId: accountId, details: { count } },
          tx,
        );
      return count;
    });
  }
}
