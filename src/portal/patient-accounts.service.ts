import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { type AttemptLock, LOCKOUT_MINUTES, type OnWrongAttempt } from '../auth/lockout/attempt-lock';
import { PasswordHasher } from '../auth/passwords/password-hasher.service';
import { checkNewPassword } from '../auth/passwords/password-policy';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { AccountNoticesService } from '../invitations/account-notices.service';
import { InvitationsService } from '../portal-access/invitations.service';
import { LinkPurposes, PortalTokensService, TokenCheck, TokenHolder } from '../invitations/portal-tokens.service';
import { PortalAccountsRepository } from '../portal-access/portal-accounts.repository';
import { checkUsername } from '../portal-access/usernames';
import { PortalTokensRepository } from '../invitations/portal-tokens.repository';
import { runInTransaction } from '../database/transactions';
import { PortalSecondFactorService } from './second-factor/portal-second-factor.service';
import { EmailChangeService } from '../portal-access/email-change/email-change.service';
import { isEmail } from 'class-validator';
import { ExpectedAnswer, GivenAnswers, IdentityCheckResult, IdentityCheckService } from './identity-check/identity-check.service';
import { ClinicClock } from '../common/time/clinic-time';
import { RepresentativeAccountsRepository } from '../portal-access/representative-accounts.repository';
import { RepresentativesRepository } from '../portal-access/representatives/representatives.repository';
import { RepresentativesService } from '../portal-access/representatives/representatives.service';
import { patientHolder } from './account/account-holder';
import { representativeActor, type RepresentativePrincipal, RepresentativeSignInService } from './representative-sign-in.service';
import { message } from '../i18n/messages';
import { PATIENT_ATTEMPTS } from './sign-in-attempts';

/** A signed-in patient, re-read from the database on every portal request. */
export interface PatientPrincipal {
  patientId: number;
  firstName: string;
  username: string;
}

export type SetPasswordResult =
  /** `emailToConfirm`: the address the patient added, waiting for its confirmation link (activation links). */
  | { outcome: 'done'; username: string; emailToConfirm?: string | null }
  | { outcome: 'invalid_link' }
  | { outcome: 'rejected'; errors: Record<string, string[]>; holder: TokenHolder };

/** Who the set-password page greets and whose username it shows: the representative on their own link. */
export function linkGreeting(holder: TokenHolder): { firstName: string; username: string | null } {
  const rep = holder.representative;
  return rep ? { firstName: rep.fullName.trim().split(/\s+/)[0], username: rep.username } : holder;
}

/** At most this many reset emails per account per RESET_REQUEST_WINDOW_MINUTES from "Forgot password". */
export const RESET_REQUESTS_PER_WINDOW = 3;
export const RESET_REQUEST_WINDOW_MINUTES = 15;
/**
 * "Forgot password" answers after this long, whether or not an account matched (the outside
 * review measured 10.9 vs 5.4 ms). The answer never waits for the work: padding the work to a
 * fixed time still leaked whenever a loaded server took longer than the pad.
 */
export const FORGOT_PASSWORD_ANSWER_MS = 150;

/** What a portal password may not be built from: the holder's name, birth date, email, username, the clinic's name. */
export const passwordWordsOf = (
  holder: { firstName: string; lastName: string; dateOfBirth: string; email: string | null },
  username: string | null,
  clinicName: string,
) => [
  holder.firstName,
  holder.lastName,
  holder.dateOfBirth,
  holder.dateOfBirth.replace(/-/g, ''),
  holder.email,
  username,
  clinicName,
];

export const patientActor = (context: AuditContext, patientId: number | null, label: string | null): AuditContext => ({
  ...context,
  actorType: 'patient',
  actorId: patientId,
  actorLabel: label ? label.slice(0, 254) : null,
});

/**
 * The patient's side of the portal account: choosing a username and password through an
 * emailed link, signing in (generic failures, lockout), the per-request session check,
 * and "Forgot password".
 */
@Injectable()
export class PatientAccountsService implements OnModuleDestroy {
  private readonly logger = new Logger('PatientAccounts');
  /** "Forgot password" work still running after its answer went out. */
  private readonly resetsInFlight = new Set<Promise<void>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly tokens: PortalTokensService,
    private readonly invitations: InvitationsService,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly accounts: PortalAccountsRepository,
    private readonly tokenRows: PortalTokensRepository,
    private readonly notices: AccountNoticesService,
    private readonly secondFactors: PortalSecondFactorService,
    private readonly identity: IdentityCheckService,
    private readonly emailChanges: EmailChangeService,
    private readonly clock: ClinicClock,
    private readonly representativeAccounts: RepresentativeAccountsRepository,
    private readonly representatives: RepresentativesRepository,
    private readonly representativeSignIn: RepresentativeSignInService,
    private readonly representativeLinks: RepresentativesService,
    @Inject(PATIENT_ATTEMPTS) private readonly attempts: AttemptLock,
  ) {}

  /** What the holder of a link must answer before the password form (a representative: two questions). */
  expectedAnswersOf(holder: TokenHolder): ExpectedAnswer[] {
    const answers: ExpectedAnswer[] = [{ question: 'dateOfBirth', value: holder.dateOfBirth }];
    // A representative also gives their own last name (the last word of the name staff recorded).
    const rep = holder.representative;
    if (rep) answers.push({ question: 'representativeLastName', value: rep.fullName.trim().split(/\s+/).pop() ?? '' });
    return answers;
  }

  /** The identity-check step of a link: checks the link, then the answers (counted, never echoed). */
  async checkIdentity(
    tokenHash: string | null,
    purpose: LinkPurposes,
    given: GivenAnswers,
    context: AuditContext,
  ): Promise<IdentityCheckResult | { outcome: 'invalid_link' }> {
    const check = await this.checkToken(tokenHash, purpose);
    if (!check.ok) {
      await this.recordLinkFailure(check, purpose, context, 'identity');
      return { outcome: 'invalid_link' };
    }
    const { holder } = check;
    return this.identity.verify(
      { tokenId: holder.tokenId, patientId: holder.patientId, purpose: holder.purpose },
      this.expectedAnswersOf(holder),
      given,
      patientActor(context, holder.patientId, null),
    );
  }

  /**
   * A link works only while what it was sent for still holds; for a representative's link that
   * includes their access to the patient today (an end day passes without any write).
   */
  private async checkToken(tokenHash: string | null, purpose: LinkPurposes): Promise<TokenCheck> {
    const check = await this.tokens.check(tokenHash, purpose);
    if (!check.ok || !check.holder.representative) return check;
    const { accountId } = check.holder.representative;
    return (await this.representatives.isActive(accountId, check.holder.patientId, this.clock.dayOf(new Date())))
      ? check
      : { ok: false, reason: 'revoked', patientId: check.holder.patientId };
  }

  /** Whether a link works (GET: changes nothing but the audit trail when it does not). */
  async checkLink(
    tokenHash: string | null,
    purpose: LinkPurposes,
    context: AuditContext,
    step: 'open' | 'form',
  ): Promise<TokenCheck> {
    const check = await this.checkToken(tokenHash, purpose);
    if (!check.ok && step === 'open') await this.recordLinkFailure(check, purpose, context, step);
    if (check.ok && step === 'open') await this.recordOpened(check.holder, context);
    return check;
  }

  /** The link's first opening is its "opened" state (and one audit row); it consumes nothing. */
  private async recordOpened(holder: TokenHolder, context: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      if (await this.tokenRows.markOpened(holder.tokenId, new Date(), tx))
        await this.audit.record(
          context,
          { action: 'portal.link_opened', patientId: holder.patientId, details: { purpose: holder.purpose } },
          tx,
        );
    });
  }

  /**
   * Sets the password (and, for an invite, the username) and uses the link up, in one
   * transaction: the token is consumed only together with the password write.
   * No sign-in follows; the patient signs in with the new password.
   */
  async setPassword(
    tokenHash: string | null,
    purpose: LinkPurposes,
    form: { username?: string; password: string; confirmPassword: string },
    context: AuditContext,
    email: string | null = null,
  ): Promise<SetPasswordResult> {
    const check = await this.checkToken(tokenHash, purpose);
    if (!check.ok) {
      await this.recordLinkFailure(check, purpose, context, 'submit');
      return { outcome: 'invalid_link' };
    }
    const holder = check.holder;
    // A representative's link sets up the representative's own account, never the patient's.
    const rep = holder.representative;
    // Only a patient adds an address at activation; a representative's is the one staff recorded.
    if (rep) email = null;
    const errors: Record<string, string[]> = {};
    const existingUsername = rep ? rep.username : holder.username;
    let username = existingUsername ?? '';
    let key: string | null = null;
    if (holder.purpose === 'invite' || !existingUsername) {
      const checked = checkUsername(form.username ?? '');
      if ('problem' in checked) errors.username = [checked.problem];
      else ({ username, key } = checked);
    }
    const problems = checkNewPassword(form.password, [
      ...passwordWordsOf(holder, username, this.config.clinicName),
      ...(rep ? [rep.fullName, rep.email] : []),
    ]);
    if (email !== null && !isUsableEmailSyntax(email)) errors.email = [message('messages:email.invalidOrEmpty')];
    else if (email !== null) {
      // The shared-address rule (issue #16), before anything is written: the patient can fix the field.
      const problem = await this.emailChanges.patientAddressProblem(
        holder.patientId,
        email,
        patientActor(context, holder.patientId, null),
      );
      if (problem) errors.email = [problem];
    }
    if (problems.length) errors.password = problems;
    else if (form.password !== form.confirmPassword) errors.confirmPassword = [message('messages:password.mismatch')];
    if (Object.keys(errors).length) return { outcome: 'rejected', errors, holder };

    // Hashing is slow on purpose: done before the transaction so row locks stay short.
    const passwordHash = await this.hasher.hash(form.password);
    const actor = rep
      ? representativeActor(context, rep.accountId, username || null)
      : patientActor(context, holder.patientId, username || null);
    const taken: SetPasswordResult = {
      outcome: 'rejected',
      errors: { username: [message('messages:username.taken')] },
      holder,
    };
    try {
      const done = await runInTransaction(this.dataSource, async (tx) => {
        const now = new Date();
        const consumed = await this.tokens.consume(tx, tokenHash, purpose, now);
        if (!consumed.ok) {
          await this.audit.record(
            actor,
            {
              action: 'portal.token_failed',
              outcome: 'failure',
              patientId: holder.patientId,
              details: { purpose, reason: consumed.reason, step: 'submit' },
            },
            tx,
          );
          return { outcome: 'invalid_link' } as const;
        }
        // One username space for patients and representatives: the sign-in form serves both.
        if (
          key &&
          ((await this.accounts.usernameTaken(key, rep ? 0 : holder.patientId, tx)) ||
            (await this.representativeAccounts.usernameTaken(key, rep ? rep.accountId : null, tx)))
        )
          throw new UsernameTakenError();
        const chosen = key ? { username, key } : null;
        if (rep) {
          await this.representativeAccounts.setPassword(rep.accountId, passwordHash, chosen, now, tx);
          await this.tokens.revokeRepresentativeLinks(tx, rep.accountId, null, 'password_set', now, holder.tokenId);
        } else {
          await this.accounts.setPassword(holder.patientId, passwordHash, chosen, now, tx);
          // An activation code was no invite email: the account now counts as invited (orange until the first sign-in).
          if (holder.purpose === 'clinic' || holder.purpose === 'letter')
            await this.accounts.markInvited([holder.patientId], now, tx);
          // Setting the password kills every other outstanding link of this patient.
          await this.tokens.revokeTokensOf(tx, [holder.patientId], 'password_set', now, holder.tokenId);
        }
        await this.audit.record(
          actor,
          {
            action: 'portal.token_used',
            patientId: holder.patientId,
            details: {
              purpose: holder.purpose,
              usernameChosen: Boolean(key),
              ...(rep ? { representativeAccountId: rep.accountId } : {}),
            },
          },
          tx,
        );
        return { outcome: 'done', username } as const;
      });
      if (done.outcome !== 'done' || email === null) return done;
      // The address is on file only once the patient uses the link sent to it (EmailChangeService.confirm).
      const asked = await this.emailChanges.requestFromPatient(holder.patientId, email, actor);
      return { ...done, emailToConfirm: asked === 'awaiting_confirmation' ? email : null };
    } catch (error) {
      // The username check above, or the unique index when two patients race for one name.
      if (error instanceof UsernameTakenError || (error instanceof QueryFailedError && /unique|duplicate/i.test(error.message)))
        return taken;
      throw error;
    }
  }

  /**
   * The patient, or null for every kind of failure (unknown, wrong password, disabled, locked, no
   * password yet). `secondStep`: the password was right and the account has a second factor —
   * the sign-in completes only after it (completeSignIn); until then the attempt no longer counts.
   */
  async authenticate(
    usernameInput: string,
    password: string,
    context: AuditContext,
  ): Promise<((PatientPrincipal | RepresentativePrincipal) & { secondStep: boolean }) | null> {
    const checked = checkUsername(usernameInput);
    const key = 'key' in checked ? checked.key : null;
    const account = key ? await this.accounts.findForSignIn(key) : null;
    const actor = patientActor(context, account ? account.patientId : null, usernameInput.replace(/[\u0000-\u001f\u007f]/g, ' '));
    const fail = async (reason: string) => {
      // A hash is verified whatever the reason, so every failure costs as much time as a wrong password.
      await this.hasher.verify(null, password);
      await this.audit.record(actor, {
        action: 'patient.sign_in',
        outcome: 'failure',
        patientId: account ? account.patientId : null,
        details: { reason },
      });
      return null;
    };
    const now = new Date();

    if (!account) {
      // A representative signs in on the same form with their own username.
      const representative = key ? await this.representativeSignIn.authenticate(key, password, context) : undefined;
      if (representative !== undefined) return representative;
      return fail('unknown_username');
    }
    const patientId = account.patientId;
    if (!account.accessEnabled) return fail('access_disabled');
    if (!account.passwordHash) return fail('no_password');
    const result = await this.attempts.attempt(
      patientId,
      () => this.hasher.verify(account.passwordHash, password),
      this.wrongAttemptRecord(patientId, actor),
      now,
    );
    if (result.outcome === 'refused') return fail('locked');
    if (result.outcome === 'wrong') return null;
    const principal = { patientId, firstName: account.firstName, username: account.username };
    if (await this.secondFactors.hasFactor(patientHolder(patientId))) {
      await this.attempts.release(patientId);
      return { ...principal, secondStep: true };
    }
    await this.completeSignIn(patientId, { ...actor, actorLabel: account.username }, null, now);
    return { ...principal, secondStep: false };
  }

  /** A complete sign-in (password, and the second factor when there is one): the first turns the patient green. */
  async completeSignIn(patientId: number, actor: AuditContext, factor: string | null, now = new Date()): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      await this.accounts.recordSignIn(patientId, now, tx);
      await this.audit.record(actor, { action: 'patient.sign_in', patientId, ...(factor ? { details: { factor } } : {}) }, tx);
    });
  }

  /** The session's generation to store at sign-in; bumped to end every session of the patient. */
  async sessionGenerationOf(patientId: number): Promise<number> {
    return this.accounts.sessionGeneration(patientId);
  }

  /** Re-reads the patient behind a session; null ends it (access disabled, sessions revoked). */
  async principalForSession(patientId: number, generation: number): Promise<PatientPrincipal | null> {
    const state = await this.accounts.sessionState(patientId);
    if (!state || !state.accessEnabled || state.sessionGeneration !== generation || !state.username) return null;
    return { patientId, firstName: state.firstName, username: state.username };
  }

  async recordSignOut(patient: { patientId: number }, context: AuditContext): Promise<void> {
    await this.audit.record(patientActor(context, patient.patientId, null), {
      action: 'patient.sign_out',
      patientId: patient.patientId,
    });
  }

  /**
   * "Forgot password": queues a reset email to the address on file when the username (or
   * email) belongs to an enabled account with a username — silently at most
   * RESET_REQUESTS_PER_WINDOW per account per window — and likewise to a representative's own
   * address for their own account. The caller answers the same either way, after the same time.
   */
  async requestReset(identifier: string, context: AuditContext): Promise<void> {
    // Answered after a fixed time, the work (looking the account up, queueing the email) going on
    // in the background: the answer's timing depends on nothing the work does or how long it takes.
    const work: Promise<void> = this.queueReset(identifier, context)
      .catch((error: Error) => this.logger.error(`Forgot-password request failed: ${error.message}`))
      .finally(() => this.resetsInFlight.delete(work));
    this.resetsInFlight.add(work);
    await new Promise((resolve) => setTimeout(resolve, FORGOT_PASSWORD_ANSWER_MS));
  }

  /** Resolves when every "Forgot password" request answered so far has finished its work (its email is in the outbox). */
  async resetsSettled(): Promise<void> {
    while (this.resetsInFlight.size) await Promise.all([...this.resetsInFlight]);
  }

  /** A request answered just before shutdown still queues its email before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.resetsSettled();
  }

  private async queueReset(identifier: string, context: AuditContext): Promise<void> {
    const value = identifier.normalize('NFKC').trim();
    if (!value) return;
    const byEmail = value.includes('@');
    const checked = byEmail ? null : checkUsername(value);
    if (checked && 'problem' in checked) return;
    const targets = await this.accounts.resetTargets(byEmail ? { email: value } : { usernameKey: checked!.key });
    const since = new Date(Date.now() - RESET_REQUEST_WINDOW_MINUTES * 60_000);
    for (const patientId of targets.slice(0, 5)) {
      const actor = patientActor(context, patientId, null);
      if ((await this.tokenRows.countIssuedSince(patientId, 'reset', since)) >= RESET_REQUESTS_PER_WINDOW) {
        await this.audit.record(actor, {
          action: 'portal.reset_requested',
          outcome: 'denied',
          patientId,
          details: { reason: 'throttled' },
        });
        continue;
      }
      await this.audit.record(actor, { action: 'portal.reset_requested', patientId });
      await this.invitations.sendInvites([patientId], actor);
    }
    // A representative's own account (issue 16) answers to its username or its own address, by the same rules.
    const representative = await this.representativeAccounts.resetTarget(
      byEmail ? { email: value } : { usernameKey: checked!.key },
    );
    if (representative) await this.representativeLinks.requestReset(representative.id, RESET_REQUESTS_PER_WINDOW, since, context);
  }

  /**
   * How a wrong attempt of the patient is recorded, in the transaction that counts it (PATIENT_ATTEMPTS)
   * — a sign-in password, a second-step code, or the current password on the account page: audited
   * under `action` and `reason`; the failure that locks the account tells the address on file (outbox).
   */
  wrongAttemptRecord(
    patientId: number,
    actor: AuditContext,
    action = 'patient.sign_in',
    reason = 'wrong_password',
  ): OnWrongAttempt {
    return async ({ failures, locked }, tx) => {
      await this.audit.record(actor, { action, outcome: 'failure', patientId, details: { reason, failures } }, tx);
      if (!locked) return;
      const holder = await this.accounts.holderOf(patientId, tx);
      const notified = Boolean(holder?.email);
      if (holder?.email)
        await this.notices.queue(tx, 'account_locked', holder.email, patientId, {
          firstName: holder.firstName,
          minutes: String(LOCKOUT_MINUTES),
        });
      await this.audit.record(
        actor,
        {
          action: 'patient.locked_out',
          outcome: 'denied',
          patientId,
          details: { minutes: LOCKOUT_MINUTES, patientNotified: notified },
        },
        tx,
      );
    };
  }

  private async recordLinkFailure(
    check: Extract<TokenCheck, { ok: false }>,
    purpose: LinkPurposes,
    context: AuditContext,
    step: string,
  ): Promise<void> {
    await this.audit.record(patientActor(context, check.patientId, null), {
      action: 'portal.token_failed',
      outcome: 'failure',
      patientId: check.patientId,
      details: { purpose, reason: check.reason, step },
    });
  }
}

class UsernameTakenError extends Error {}

/** The same address rule as IsSafeEmail (common/validation), for a field checked in the service. */
function isUsableEmailSyntax(email: string): boolean {
  return email.length <= 254 && /^[^\u0000-\u0020\u007f"\\]+$/.test(email) && isEmail(email);
}
