import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { AccountNoticesService } from '../invitations/account-notices.service';
import { type AttemptLock, LOCKOUT_MINUTES, type OnWrongAttempt } from '../auth/lockout/attempt-lock';
import { PasswordHasher } from '../auth/passwords/password-hasher.service';
import { ClinicClock } from '../common/time/clinic-time';
import { runInTransaction } from '../database/transactions';
import { RepresentativeAccountsRepository } from '../portal-access/representative-accounts.repository';
import { RELATIONSHIP_LABELS } from '../portal-access/representatives/representative-rules';
import { RepresentativesRepository } from '../portal-access/representatives/representatives.repository';
import { representativeHolder } from './account/account-holder';
import { PortalSecondFactorService } from './second-factor/portal-second-factor.service';
import { REPRESENTATIVE_ATTEMPTS } from './sign-in-attempts';

/** A signed-in representative, re-read on every portal request. */
export interface RepresentativePrincipal {
  representativeAccountId: number;
  fullName: string;
  username: string;
}

export const representativeActor = (context: AuditContext, accountId: number | null, label: string | null): AuditContext => ({
  ...context,
  actorType: 'proxy',
  actorId: accountId,
  actorLabel: label ? label.slice(0, 254) : null,
});

/**
 * A representative's side of the portal (issue 16): signing in with their own username (the same
 * form and the same generic failure as a patient), the per-request session check, and the home
 * that lists the patients they may act for and until when.
 */
@Injectable()
export class RepresentativeSignInService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: ClinicClock,
    private readonly accounts: RepresentativeAccountsRepository,
    private readonly representatives: RepresentativesRepository,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly notices: AccountNoticesService,
    private readonly secondFactors: PortalSecondFactorService,
    @Inject(REPRESENTATIVE_ATTEMPTS) private readonly attempts: AttemptLock,
  ) {}

  /**
   * undefined when no representative holds this username key (the caller answers as for an
   * unknown user); null for every failure; the principal on success. `secondStep`: the password was
   * right and the account has a second factor — the sign-in completes only after it (completeSignIn).
   */
  async authenticate(
    usernameKey: string,
    password: string,
    context: AuditContext,
  ): Promise<(RepresentativePrincipal & { secondStep: boolean }) | null | undefined> {
    const account = await this.accounts.findForSignIn(usernameKey);
    if (!account) return undefined;
    const actor = representativeActor(context, account.id, account.username);
    const now = new Date();
    const fail = async (reason: string) => {
      await this.hasher.verify(null, password);
      await this.audit.record(actor, { action: 'representative.sign_in', outcome: 'failure', details: { reason } });
      return null;
    };
    if (!account.passwordHash) return fail('no_password');
    const result = await this.attempts.attempt(
      account.id,
      () => this.hasher.verify(account.passwordHash, password),
      this.wrongAttemptRecord(account.id, actor),
      now,
    );
    if (result.outcome === 'refused') return fail('locked');
    if (result.outcome === 'wrong') return null;
    const principal = { representativeAccountId: account.id, fullName: account.fullName, username: account.username };
    if (await this.secondFactors.hasFactor(representativeHolder(account.id))) {
      // The password was right: this attempt no longer counts; the second step reserves its own.
      await this.attempts.release(account.id);
      return { ...principal, secondStep: true };
    }
    await this.completeSignIn(account.id, actor, null, now);
    return { ...principal, secondStep: false };
  }

  /** A complete sign-in (password, and the second factor when there is one). */
  async completeSignIn(accountId: number, actor: AuditContext, factor: string | null, now = new Date()): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      await this.accounts.recordSignIn(accountId, now, tx);
      await this.audit.record(actor, { action: 'representative.sign_in', ...(factor ? { details: { factor } } : {}) }, tx);
    });
  }

  /**
   * How a wrong password (at sign-in or re-entered on the account page) or a wrong second-step code
   * (`reason`) is recorded, in the transaction that counts it towards the representative's own
   * lockout (REPRESENTATIVE_ATTEMPTS).
   */
  wrongAttemptRecord(
    accountId: number,
    actor: AuditContext,
    action = 'representative.sign_in',
    reason = 'wrong_password',
  ): OnWrongAttempt {
    return async ({ failures, locked }, tx) => {
      await this.audit.record(actor, { action, outcome: 'failure', details: { reason, failures } }, tx);
      if (!locked) return;
      // Told at their own address, as a patient is (the same notice).
      const holder = await this.accounts.passwordHolder(accountId, tx);
      if (holder)
        await this.notices.queue(
          tx,
          'account_locked',
          holder.email,
          null,
          { firstName: holder.fullName.split(/\s+/)[0] ?? '', minutes: String(LOCKOUT_MINUTES) },
          await this.accounts.emailLanguageOf(accountId, null, tx),
        );
      await this.audit.record(
        actor,
        {
          action: 'representative.locked_out',
          outcome: 'denied',
          details: { minutes: LOCKOUT_MINUTES, representativeNotified: Boolean(holder) },
        },
        tx,
      );
    };
  }

  async sessionGenerationOf(accountId: number): Promise<number> {
    return (await this.accounts.sessionState(accountId))?.generation ?? 0;
  }

  /** The representative behind a session; null ends it (their sessions were ended, e.g. a patient was taken away). */
  async principalForSession(accountId: number, generation: number): Promise<RepresentativePrincipal | null> {
    const state = await this.accounts.sessionState(accountId);
    if (!state || state.generation !== generation || !state.username) return null;
    return { representativeAccountId: accountId, fullName: state.fullName, username: state.username };
  }

  /** The portal home: the patients this representative may act for today, and until when. */
  async home(principal: RepresentativePrincipal, now = new Date()) {
    const patients = await this.representatives.activeForAccount(principal.representativeAccountId, this.clock.dayOf(now));
    return {
      fullName: principal.fullName,
      patients: patients.map((patient) => ({ ...patient, relationshipLabel: RELATIONSHIP_LABELS[patient.relationship] })),
    };
  }

  /**
   * The portal's language switch, used by a signed-in representative: it becomes their own language,
   * for their pages and every email to them (invites, resets, notices). Only for a session still
   * valid (the switch is open to everyone); audited when it changed.
   */
  async chooseLanguage(
    session: { accountId: number; generation: number },
    language: string,
    context: AuditContext,
  ): Promise<void> {
    const principal = await this.principalForSession(session.accountId, session.generation);
    if (!principal) return;
    const before = await this.accounts.languageOf(session.accountId);
    if (before === language) return;
    await runInTransaction(this.dataSource, async (tx) => {
      await this.accounts.setLanguage(session.accountId, language, new Date(), tx);
      await this.audit.record(
        representativeActor(context, session.accountId, principal.username),
        { action: 'representative.language_changed', details: { from: before, to: language } },
        tx,
      );
    });
  }

  async recordSignOut(accountId: number, context: AuditContext): Promise<void> {
    await this.audit.record(representativeActor(context, accountId, null), { action: 'representative.sign_out' });
  }
}
