import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuditContext } from '../../audit/audit-context';
import type { AttemptLock, OnWrongAttempt } from '../../auth/lockout/attempt-lock';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { PENDING_SECOND_FACTOR_MS, storeChallenge, takeChallenge } from '../../auth/mfa/pending-sign-in';
import { SignInRequiredException } from '../../common/errors/sign-in-required.exception';
import { PortalSessionsService } from '../account/portal-sessions.service';
import { PatientAccountsService, patientActor } from '../patient-accounts.service';
import { PORTAL_ENROLMENT_PATH } from '../patient-session';
import { representativeActor, RepresentativeSignInService } from '../representative-sign-in.service';
import { PATIENT_ATTEMPTS, REPRESENTATIVE_ATTEMPTS } from '../sign-in-attempts';
import { PortalSecondFactorService } from './portal-second-factor.service';
import { type AccountHolder, ceremonyOf } from '../account/account-holder';

export const PORTAL_SECOND_STEP_PATH = '/portal/login/second-step';

export type PortalCodeResult = { outcome: 'signed-in'; next: string } | { outcome: 'wrong-code' } | { outcome: 'locked' };

/** What the second step needs of either kind of account; the one place the two kinds differ. */
interface SignInAccount {
  attempts: AttemptLock;
  generation(): Promise<number>;
  /** The username of the account behind a pending session, or null when it may no longer sign in. */
  usernameFor(generation: number): Promise<string | null>;
  actor(context: AuditContext, username: string): AuditContext;
  wrongAttemptRecord(actor: AuditContext, reason: string): OnWrongAttempt;
  complete(actor: AuditContext, factor: string, now: Date): Promise<void>;
}

/**
 * The portal sign-in after the password, for a patient's account and a representative's own alike:
 * a half-signed-in session (neither `patient` nor `representative`, so the guard grants nothing)
 * until a code from the authenticator app, a recovery code or a passkey completes it under a fresh
 * session id. Wrong codes count with the password failures (the account's one lockout).
 */
@Injectable()
export class PortalSecondStepService {
  constructor(
    private readonly accounts: PatientAccountsService,
    private readonly representatives: RepresentativeSignInService,
    private readonly factors: PortalSecondFactorService,
    private readonly sessions: PortalSessionsService,
    @Inject(PATIENT_ATTEMPTS) private readonly patientAttempts: AttemptLock,
    @Inject(REPRESENTATIVE_ATTEMPTS) private readonly representativeAttempts: AttemptLock,
  ) {}

  /** After a right password: the second step, or a signed-in session (restricted to enrolment when the clinic requires a factor). */
  async afterPassword(
    req: Request,
    holder: AccountHolder,
    secondStep: boolean,
    next: string,
    context: AuditContext,
  ): Promise<string> {
    const generation = await this.accountOf(holder).generation();
    if (secondStep) {
      await new Promise<void>((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
      req.session.portalPending = { holder, generation, startedAt: Date.now(), next };
      return PORTAL_SECOND_STEP_PATH;
    }
    const mustEnrol = await this.factors.isRequired();
    await this.sessions.signIn(req, holder, generation, context, mustEnrol);
    return mustEnrol ? PORTAL_ENROLMENT_PATH : next;
  }

  /** The half-signed-in account, re-checked (access, sessions ended, lockout); else back to sign-in. */
  async pending(req: Request): Promise<{ holder: AccountHolder; username: string }> {
    const pending = req.session?.portalPending;
    const fresh = pending?.holder && Date.now() - pending.startedAt <= PENDING_SECOND_FACTOR_MS;
    const account = fresh ? this.accountOf(pending.holder) : null;
    const username = account ? await account.usernameFor(pending!.generation) : null;
    if (!username || (await account!.attempts.isLocked(pending!.holder.id))) {
      if (req.session) delete req.session.portalPending;
      throw new SignInRequiredException('/portal/login');
    }
    return { holder: pending!.holder, username };
  }

  /** Whether the pending account can answer with a passkey (the page offers the button). */
  async hasPasskeys(req: Request): Promise<boolean> {
    const { holder } = await this.pending(req);
    return (await this.factors.status(holder)).passkeys.length > 0;
  }

  async verify(req: Request, code: string, context: AuditContext): Promise<PortalCodeResult> {
    return this.attempt(req, context, 'wrong_code', async (holder, actor) => {
      const match = await this.factors.matchCode(holder, code, actor);
      return match ? match.factor : null;
    });
  }

  /** The passkey ceremony's options; the challenge waits in the half-signed-in session, usable once. */
  async passkeyOptions(req: Request): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { holder } = await this.pending(req);
    const options = await this.factors.passkeySignInOptions(holder);
    storeChallenge(req, ceremonyOf(holder, 'authenticate'), holder.id, options.challenge);
    return options;
  }

  /** A passkey's answer instead of a code: counted with the lockout like one. */
  async verifyPasskey(req: Request, response: AuthenticationResponseJSON, context: AuditContext): Promise<PortalCodeResult> {
    const { holder } = await this.pending(req);
    const challenge = takeChallenge(req, ceremonyOf(holder, 'authenticate'), holder.id);
    return this.attempt(req, context, 'wrong_passkey', async () =>
      (await this.factors.matchPasskey(holder, response, challenge)) ? 'passkey' : null,
    );
  }

  /** One second-step attempt: reserved before it is checked, a failure counted, a success signs in under a new session id. */
  private async attempt(
    req: Request,
    context: AuditContext,
    failure: string,
    check: (holder: AccountHolder, actor: AuditContext) => Promise<string | null>,
  ): Promise<PortalCodeResult> {
    const { holder, username } = await this.pending(req);
    const { generation, next } = req.session.portalPending!;
    const account = this.accountOf(holder);
    const actor = account.actor(context, username);
    const now = new Date();
    const result = await account.attempts.attempt(
      holder.id,
      () => check(holder, actor),
      account.wrongAttemptRecord(actor, failure),
      now,
    );
    if (result.outcome === 'refused') return { outcome: 'locked' };
    if (result.outcome === 'wrong') return result.locked ? { outcome: 'locked' } : { outcome: 'wrong-code' };
    await account.complete(actor, result.value, now);
    await this.sessions.signIn(req, holder, generation, context);
    return { outcome: 'signed-in', next };
  }

  private accountOf(holder: AccountHolder): SignInAccount {
    const id = holder.id;
    if (holder.kind === 'representative')
      return {
        attempts: this.representativeAttempts,
        generation: () => this.representatives.sessionGenerationOf(id),
        usernameFor: async (generation) => (await this.representatives.principalForSession(id, generation))?.username ?? null,
        actor: (context, username) => representativeActor(context, id, username),
        wrongAttemptRecord: (actor, reason) =>
          this.representatives.wrongAttemptRecord(id, actor, 'representative.sign_in', reason),
        complete: (actor, factor, now) => this.representatives.completeSignIn(id, actor, factor, now),
      };
    return {
      attempts: this.patientAttempts,
      generation: () => this.accounts.sessionGenerationOf(id),
      usernameFor: async (generation) => (await this.accounts.principalForSession(id, generation))?.username ?? null,
      actor: (context, username) => patientActor(context, id, username),
      wrongAttemptRecord: (actor, reason) => this.accounts.wrongAttemptRecord(id, actor, 'patient.sign_in', reason),
      complete: (actor, factor, now) => this.accounts.completeSignIn(id, actor, factor, now),
    };
  }
}
