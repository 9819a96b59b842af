import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditQueryService } from '../../audit/audit-query.service';
import { AuditService } from '../../audit/audit.service';
import {
  ACCOUNT_HISTORY_ACTIONS,
  describeForAccountHolder,
  describePatientActivity,
  REPRESENTATIVE_HISTORY_ACTIONS,
} from '../../audit/patient-activity';
import { type AttemptLock, LOCKOUT_VALUES, type OnWrongAttempt } from '../../auth/lockout/attempt-lock';
import { PasswordHasher } from '../../auth/passwords/password-hasher.service';
import { checkNewPassword } from '../../auth/passwords/password-policy';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';
import { AccountNoticesService } from '../../invitations/account-notices.service';
import { PortalTokensService } from '../../invitations/portal-tokens.service';
import { PortalAccountsRepository } from '../../portal-access/portal-accounts.repository';
import { RepresentativeAccountsRepository } from '../../portal-access/representative-accounts.repository';
import {
  type RepresentativePrincipal,
  representativeActor,
  RepresentativeSignInService,
} from '../representative-sign-in.service';
import { type AccountHolder, patientHolder, representativeHolder } from './account-holder';
import { PatientAccountsService, passwordWordsOf, patientActor, type PatientPrincipal } from '../patient-accounts.service';
import { firstNameOf, PortalSecondFactorService } from '../second-factor/portal-second-factor.service';
import { PortalSessionsRepository } from './portal-sessions.repository';
import { PortalSessionsService } from './portal-sessions.service';
import { message } from '../../i18n/messages';
import { PATIENT_ATTEMPTS, REPRESENTATIVE_ATTEMPTS } from '../sign-in-attempts';

/** How many lines of access history the account page shows. */
export const ACCOUNT_HISTORY_LENGTH = 20;

export type ChangePasswordResult = { ok: true; generation: number } | { ok: false; errors: Record<string, string[]> };

/** Whoever is signed in to the portal: a patient, or a representative in their own account. */
export type AccountPrincipal = PatientPrincipal | RepresentativePrincipal;

export const holderOf = (principal: AccountPrincipal): AccountHolder =>
  'representativeAccountId' in principal
    ? representativeHolder(principal.representativeAccountId)
    : patientHolder(principal.patientId);

/** The audit actor of whoever is signed in: the patient, or the representative in their own account ("proxy"). */
export const accountActor = (principal: AccountPrincipal, context: AuditContext): AuditContext =>
  'representativeAccountId' in principal
    ? representativeActor(context, principal.representativeAccountId, principal.username)
    : patientActor(context, principal.patientId, principal.username);

/** What the password rules need of either kind of account; the one place the two kinds differ. */
interface PasswordAccount {
  /** The account's key in its lockout table. */
  id: number;
  passwordHash: string | null;
  /** Words the new password must not contain (names, address, username, clinic). */
  words: string[];
  attempts: AttemptLock;
  actor: AuditContext;
  /** Audit action prefix: "patient" or "representative". */
  prefix: string;
  /** Audit rows of a patient's account carry the patient. */
  patientId?: number;
  wrongAttemptRecord(action: string): OnWrongAttempt;
  /** Stores the new password (every session generation ends); returns what the audit row notes. */
  save(passwordHash: string, now: Date, tx: EntityManager): Promise<Record<string, unknown>>;
}

/**
 * The account page's rules: change the password (current one required, counted with sign-in
 * failures), list and end sessions, the access history, for a patient's account and a
 * representative's alike. Every change is audited and the address on file is told
 * (AccountNoticesService, through the outbox).
 */
@Injectable()
export class PortalAccountService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly accounts: PortalAccountsRepository,
    private readonly representativeAccounts: RepresentativeAccountsRepository,
    private readonly signIns: PatientAccountsService,
    private readonly representativeSignIns: RepresentativeSignInService,
    private readonly sessions: PortalSessionsService,
    private readonly sessionRows: PortalSessionsRepository,
    private readonly hasher: PasswordHasher,
    private readonly tokens: PortalTokensService,
    private readonly notices: AccountNoticesService,
    private readonly audit: AuditService,
    private readonly auditTrail: AuditQueryService,
    private readonly secondFactors: PortalSecondFactorService,
    @Inject(PATIENT_ATTEMPTS) private readonly patientAttempts: AttemptLock,
    @Inject(REPRESENTATIVE_ATTEMPTS) private readonly representativeAttempts: AttemptLock,
  ) {}

  async page(principal: AccountPrincipal, generation: number, currentHandle: string | undefined) {
    const holder = holderOf(principal);
    const rep = 'representativeAccountId' in principal;
    const [sessions, history, secondFactor] = await Promise.all([
      this.sessions.list(holder, generation, currentHandle),
      rep
        ? this.auditTrail.representativeHistory(holder.id, REPRESENTATIVE_HISTORY_ACTIONS, ACCOUNT_HISTORY_LENGTH)
        : this.auditTrail.accountHistory(holder.id, ACCOUNT_HISTORY_ACTIONS, ACCOUNT_HISTORY_LENGTH),
      this.secondFactors.status(holder),
    ]);
    return {
      username: principal.username,
      firstName: rep ? principal.fullName : principal.firstName,
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
   * caller signs this one in again) and the account's own extras follow (PasswordAccount.save).
   */
  async changePassword(
    principal: AccountPrincipal,
    form: { currentPassword: string; newPassword: string },
    context: AuditContext,
  ): Promise<ChangePasswordResult> {
    const holder = holderOf(principal);
    const account = await this.passwordAccount(principal, context);
    if (!account?.passwordHash) throw new BadRequestException(message('messages:account.noPassword'));
    const problems = checkNewPassword(form.newPassword, account.words);
    if (form.newPassword === form.currentPassword) problems.push(message('messages:password.sameAsCurrent'));
    if (problems.length) return { ok: false, errors: { newPassword: problems } };

    const action = `${account.prefix}.password_changed`;
    const now = new Date();
    const wrong = await this.checkCurrentPassword(account, form.currentPassword, action, now);
    if (wrong === 'locked')
      return { ok: false, errors: { currentPassword: [message('messages:password.locked', LOCKOUT_VALUES)] } };
    if (wrong) return { ok: false, errors: { currentPassword: [message('messages:password.wrongCurrent', LOCKOUT_VALUES)] } };
    const passwordHash = await this.hasher.hash(form.newPassword);
    await runInTransaction(this.dataSource, async (tx) => {
      // Clears the reserved attempt with the lockout and bumps the session generation: every session ends.
      const noted = await account.save(passwordHash, now, tx);
      const ended = await this.sessionRows.endAllBut(holder, null, 'password_changed', now, tx);
      await this.audit.record(
        account.actor,
        {
          action,
          patientId: account.patientId,
          // The current session is signed in again by the caller; the others stay ended.
          details: { otherSessionsEnded: Math.max(0, ended - 1), ...noted },
        },
        tx,
      );
    });
    return { ok: true, generation: await this.generationOf(holder) };
  }

  private generationOf(holder: AccountHolder): Promise<number> {
    return holder.kind === 'patient'
      ? this.accounts.sessionGeneration(holder.id)
      : this.representativeSignIns.sessionGenerationOf(holder.id);
  }

  private async passwordAccount(principal: AccountPrincipal, context: AuditContext): Promise<PasswordAccount | null> {
    const clinic = this.config.clinicName;
    if ('representativeAccountId' in principal) {
      const id = principal.representativeAccountId;
      const rep = await this.representativeAccounts.passwordHolder(id);
      if (!rep) return null;
      const actor = representativeActor(context, id, principal.username);
      return {
        id,
        passwordHash: rep.passwordHash,
        words: [rep.fullName, ...rep.fullName.split(/\s+/), rep.email, rep.username ?? '', clinic].filter(Boolean),
        attempts: this.representativeAttempts,
        actor,
        prefix: 'representative',
        wrongAttemptRecord: (action) => this.representativeSignIns.wrongAttemptRecord(id, actor, action),
        save: async (passwordHash, now, tx) => {
          await this.representativeAccounts.setPassword(id, passwordHash, null, now, tx);
          const language = await this.representativeAccounts.emailLanguageOf(id, null, tx);
          await this.notices.queue(tx, 'password_changed', rep.email, null, { firstName: firstNameOf(rep.fullName) }, language);
          return { representativeNotified: true };
        },
      };
    }
    const patientId = principal.patientId;
    const holder = await this.accounts.holderOf(patientId);
    if (!holder) return null;
    const actor = patientActor(context, patientId, principal.username);
    return {
      id: patientId,
      passwordHash: holder.passwordHash,
      words: passwordWordsOf(holder, holder.username, clinic).filter((word): word is string => Boolean(word)),
      attempts: this.patientAttempts,
      actor,
      prefix: 'patient',
      patientId,
      wrongAttemptRecord: (action) => this.signIns.wrongAttemptRecord(patientId, actor, action),
      save: async (passwordHash, now, tx) => {
        await this.accounts.setPassword(patientId, passwordHash, null, now, tx);
        await this.tokens.revokeTokensOf(tx, [patientId], 'password_set', now);
        if (holder.email)
          await this.notices.queue(tx, 'password_changed', holder.email, patientId, { firstName: holder.firstName });
        return { patientNotified: Boolean(holder.email) };
      },
    };
  }

  /**
   * Removes a passkey once the current password is re-entered (a stolen, still signed-in session
   * alone cannot take a factor away), checked and counted like a sign-in attempt.
   */
  async removePasskey(
    principal: AccountPrincipal,
    passkeyId: number,
    currentPassword: string,
    context: AuditContext,
  ): Promise<{ ok: true; name: string } | { ok: false; error: 'locked' | 'wrong' }> {
    const account = await this.passwordAccount(principal, context);
    if (!account?.passwordHash) throw new BadRequestException(message('messages:account.noPassword'));
    const wrong = await this.checkCurrentPassword(
      account,
      currentPassword,
      `${account.prefix}.second_factor_removed`,
      new Date(),
    );
    if (wrong) return { ok: false, error: wrong };
    // The reserved attempt is released: a right password is not a failure.
    await account.attempts.release(account.id);
    const removed = await this.secondFactors.removePasskey(holderOf(principal), passkeyId, account.actor);
    return { ok: true, name: removed.name };
  }

  /**
   * The current password, checked as a sign-in attempt would be: reserved before the slow hash, a
   * wrong one counted towards the lockout (and audited under `action`). Null when it is right.
   */
  private async checkCurrentPassword(
    account: PasswordAccount,
    password: string,
    action: string,
    now: Date,
  ): Promise<'locked' | 'wrong' | null> {
    const result = await account.attempts.attempt(
      account.id,
      () => this.hasher.verify(account.passwordHash, password),
      account.wrongAttemptRecord(action),
      now,
    );
    if (result.outcome === 'refused') {
      await this.audit.record(account.actor, {
        action,
        outcome: 'denied',
        patientId: account.patientId,
        details: { reason: 'locked' },
      });
      return 'locked';
    }
    return result.outcome === 'wrong' ? 'wrong' : null;
  }

  /** Ends one other session of the account (not the current one: that is "Sign out"). */
  async endSession(
    principal: AccountPrincipal,
    generation: number,
    currentHandle: string | undefined,
    handle: string,
    context: AuditContext,
  ) {
    if (handle === currentHandle) throw new BadRequestException(message('messages:account.endOwnSession'));
    const holder = holderOf(principal);
    const target = (await this.sessions.list(holder, generation, currentHandle)).find((session) => session.handle === handle);
    await runInTransaction(this.dataSource, async (tx) => {
      const ended = await this.sessionRows.end(holder, handle, 'ended_by_patient', new Date(), tx);
      if (ended) await this.recordSessionsEnded(principal, context, 'session_ended', { device: target?.device ?? null }, tx);
    });
  }

  /** Ends every session of the account but the current one; returns how many ended. */
  async endOtherSessions(principal: AccountPrincipal, currentHandle: string | undefined, context: AuditContext): Promise<number> {
    return runInTransaction(this.dataSource, async (tx) => {
      const count = await this.sessionRows.endAllBut(
        holderOf(principal),
        currentHandle ?? null,
        'ended_by_patient',
        new Date(),
        tx,
      );
      if (count) await this.recordSessionsEnded(principal, context, 'sessions_ended', { count }, tx);
      return count;
    });
  }

  private async recordSessionsEnded(
    principal: AccountPrincipal,
    context: AuditContext,
    what: string,
    details: Record<string, unknown>,
    tx: EntityManager,
  ): Promise<void> {
    const rep = 'representativeAccountId' in principal;
    await this.audit.record(
      accountActor(principal, context),
      { action: `${rep ? 'representative' : 'patient'}.${what}`, patientId: rep ? undefined : principal.patientId, details },
      tx,
    );
  }
}
