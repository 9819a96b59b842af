import { BadRequestException, Injectable } from '@nestjs/common';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Request } from 'express';
import { type AuditContext, auditContextFromRequest } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { RedirectException } from '../../common/errors/redirect.exception';
import { SignInRequiredException } from '../../common/errors/sign-in-required.exception';
import { safeNextPath } from '../../common/safe-next';
import { AuthService } from '../auth.service';
import { StaffAuthenticator } from '../staff-authenticator';
import type { StaffPrincipal } from '../staff-principal';
import { MfaPolicyService } from './mfa-policy.service';
import { PasskeysService } from './passkeys.service';
import { freshPendingSecondFactor, type PendingSecondFactor, storeChallenge, takeChallenge } from './pending-sign-in';
import { RecoveryCodesService } from './recovery-codes.service';
import { SecondFactorService } from './second-factor.service';
import { looksLikeTotpCode, TotpService, type TotpSetup } from './totp.service';
import { startSessionClock } from '../session-activity';
import { describeUserAgent } from '../../common/user-agent';

export const SECOND_STEP_PATH = '/login/second-factor';
export const ENROLMENT_PATH = '/login/second-factor/enrol';

export type CodeResult =
  { outcome: 'signed-in'; next: string; recoveryCodesRemaining?: number } | { outcome: 'wrong-code' } | { outcome: 'locked' };

/**
 * The sign-in after the password: a half-signed-in session (no passport user, so the
 * global guard grants nothing) until a TOTP code, a recovery code or a passkey — or,
 * under the policy, a first enrolment — completes it with a fresh session id.
 */
@Injectable()
export class SecondStepService {
  constructor(
    private readonly auth: AuthService,
    private readonly authenticator: StaffAuthenticator,
    private readonly secondFactors: SecondFactorService,
    private readonly policy: MfaPolicyService,
    private readonly totp: TotpService,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly passkeys: PasskeysService,
    private readonly audit: AuditService,
  ) {}

  /** After a correct password: signs in, or starts the second step. Returns where the browser goes next. */
  async afterPassword(req: Request, principal: StaffPrincipal, requestedNext: unknown): Promise<string> {
    const next = destinationAfterSignIn(requestedNext);
    if (await this.secondFactors.hasSecondFactor(principal.id)) return this.startPending(req, principal, next, false);
    // A one-time password is changed first (restricted session); enrolment follows (afterPasswordChange).
    if (!principal.mustChangePassword && (await this.policy.isRequired())) return this.startPending(req, principal, next, true);
    await this.signIn(req, principal);
    return next;
  }

  /** After a user changed their password: enrolment if the policy asks for it, else a fresh signed-in session. Returns a redirect or null. */
  async afterPasswordChange(req: Request, principal: StaffPrincipal): Promise<string | null> {
    if (!(await this.secondFactors.hasSecondFactor(principal.id)) && (await this.policy.isRequired())) {
      await new Promise<void>((resolve, reject) =>
        req.logout({ keepSessionInfo: false }, (error) => (error ? reject(error) : resolve())),
      );
      return this.startPending(req, principal, '/', true);
    }
    await this.signIn(req, principal);
    return null;
  }

  /** The pending state and its user, re-checked (disabled, signed out everywhere, locked); else back to sign-in. */
  async pending(req: Request, expect: 'verify' | 'enrol'): Promise<{ pending: PendingSecondFactor; user: StaffPrincipal }> {
    const pending = freshPendingSecondFactor(req);
    const user = pending ? await this.auth.principalForSession(pending.userId, pending.generation) : null;
    if (!pending || !user || (await this.auth.isLocked(pending.userId))) {
      if (req.session) delete req.session.pendingSecondFactor;
      throw new SignInRequiredException();
    }
    // Each page of the other kind sends the browser to the right one.
    if (pending.enrol !== (expect === 'enrol')) throw new RedirectException(pending.enrol ? ENROLMENT_PATH : SECOND_STEP_PATH);
    return { pending, user };
  }

  /** A 6-digit code from the app or a recovery code. Failures count towards the lockout. */
  async verifyCode(req: Request, code: string): Promise<CodeResult> {
    const { pending, user } = await this.pending(req, 'verify');
    const context = this.contextFor(req, user);
    if (looksLikeTotpCode(code)) {
      const result = await this.counted(req, user, context, 'totp', () => this.totp.verifyForSignIn(user.id, code));
      if (result.outcome !== 'right') return result;
      return { outcome: 'signed-in', next: await this.complete(req, pending, user, context, 'totp') };
    }
    const result = await this.counted(req, user, context, 'recovery_code', () =>
      this.recoveryCodes.useForSignIn(user.id, code, context),
    );
    if (result.outcome !== 'right') return result;
    return {
      outcome: 'signed-in',
      next: await this.complete(req, pending, user, context, 'recovery_code'),
      recoveryCodesRemaining: result.value.remaining,
    };
  }

  async passkeyOptions(req: Request): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { user } = await this.pending(req, 'verify');
    const options = await this.passkeys.authenticationOptions(user.id);
    storeChallenge(req, 'authenticate', user.id, options.challenge);
    return options;
  }

  async verifyPasskey(req: Request, response: AuthenticationResponseJSON): Promise<CodeResult> {
    const { pending, user } = await this.pending(req, 'verify');
    const context = this.contextFor(req, user);
    const challenge = takeChallenge(req, 'authenticate', user.id);
    const result = await this.counted(req, user, context, 'passkey', async () =>
      challenge ? this.passkeys.verifyAuthentication(user.id, response, challenge) : false,
    );
    if (result.outcome !== 'right') return result;
    return { outcome: 'signed-in', next: await this.complete(req, pending, user, context, 'passkey') };
  }

  /** Enrolment under the policy: the authenticator app's QR code for the pending user. */
  async enrolmentTotpSetup(req: Request): Promise<TotpSetup> {
    const { user } = await this.pending(req, 'enrol');
    return this.totp.setup(user);
  }

  /** Confirms the app and signs in; returns the recovery codes to show once, or null for a wrong code. */
  async enrolTotp(req: Request, code: string): Promise<{ next: string; recoveryCodes: string[] | null } | null> {
    const { pending, user } = await this.pending(req, 'enrol');
    const context = this.contextFor(req, user);
    const activation = await this.secondFactors.activateTotp(user.id, code, context);
    if (!activation.activated) return null;
    return { next: await this.complete(req, pending, user, context, 'totp_enrolment'), recoveryCodes: activation.recoveryCodes };
  }

  async enrolmentPasskeyOptions(req: Request): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { user } = await this.pending(req, 'enrol');
    return this.registrationOptions(req, user);
  }

  /** Registers the first passkey and signs in; recovery codes are then offered on the account page. */
  async enrolPasskey(req: Request, name: string, response: RegistrationResponseJSON): Promise<string> {
    const { pending, user } = await this.pending(req, 'enrol');
    const context = this.contextFor(req, user);
    await this.registerPasskey(req, user, name, response, context);
    await this.complete(req, pending, user, context, 'passkey_enrolment');
    return '/account/security';
  }

  /** Passkey registration options for a user (signed in, or enrolling); the challenge waits in the session. */
  async registrationOptions(req: Request, user: StaffPrincipal): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await this.passkeys.registrationOptions(user);
    storeChallenge(req, 'register', user.id, options.challenge);
    return options;
  }

  async registerPasskey(
    req: Request,
    user: StaffPrincipal,
    name: string,
    response: RegistrationResponseJSON,
    context: AuditContext,
  ): Promise<void> {
    const challenge = takeChallenge(req, 'register', user.id);
    if (!challenge) throw new BadRequestException('The passkey request expired. Try again.');
    await this.secondFactors.registerPasskey(user.id, name, response, challenge, context);
  }

  /** Leaves the half-signed-in state. */
  cancel(req: Request): Promise<void> {
    return new Promise((resolve) => (req.session ? req.session.destroy(() => resolve()) : resolve()));
  }

  /**
   * One code or passkey, counted before it is checked (AuthService.attempt, the lockout rule); a
   * locked account ends the pending state unchecked, and so does the failure that locks it.
   */
  private async counted<T>(
    req: Request,
    user: StaffPrincipal,
    context: AuditContext,
    method: string,
    check: () => Promise<T | false | null>,
  ): Promise<{ outcome: 'right'; value: T } | { outcome: 'wrong-code' } | { outcome: 'locked' }> {
    const entry = { action: 'staff.second_factor', outcome: 'failure' as const, details: { method } };
    const result = await this.auth.attempt(user.id, context, entry, check);
    if (result.outcome === 'right') return result;
    if (result.outcome === 'wrong' && !result.locked) return { outcome: 'wrong-code' };
    if (result.outcome === 'refused') await this.audit.record(context, { ...entry, details: { method, reason: 'locked' } });
    delete req.session.pendingSecondFactor;
    return { outcome: 'locked' };
  }

  private async complete(
    req: Request,
    pending: PendingSecondFactor,
    user: StaffPrincipal,
    context: AuditContext,
    method: string,
  ): Promise<string> {
    await this.auth.completeSignIn(user.id);
    await this.audit.record(context, { action: 'staff.second_factor', details: { method } });
    // Re-read: the password may have been reset meanwhile (must change it now).
    const fresh = await this.auth.principalForSession(user.id, pending.generation);
    if (!fresh) throw new SignInRequiredException();
    await this.signIn(req, fresh);
    return pending.next;
  }

  /** passport's logIn regenerates the session id, dropping the pending state with the old session. */
  private async signIn(req: Request, principal: StaffPrincipal): Promise<void> {
    await this.authenticator.logIn(req, principal);
    startSessionClock(req);
    req.session.staffDevice = describeUserAgent(req.get('user-agent') ?? null);
  }

  /** A new session id for the half-signed-in state too: a planted cookie must not get to enrol a factor. */
  private async startPending(req: Request, principal: StaffPrincipal, next: string, enrol: boolean): Promise<string> {
    const generation = await this.auth.sessionGenerationOf(principal.id);
    await new Promise<void>((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
    req.session.pendingSecondFactor = { userId: principal.id, generation, startedAt: Date.now(), next, enrol };
    return enrol ? ENROLMENT_PATH : SECOND_STEP_PATH;
  }

  private contextFor(req: Request, user: StaffPrincipal): AuditContext {
    return auditContextFromRequest(req, { actorType: 'staff', actorId: user.id, actorLabel: user.email });
  }
}

/** Where a completed sign-in lands: a safe local path, never back into the sign-in pages. */
export function destinationAfterSignIn(next: unknown): string {
  const path = safeNextPath(next, '/');
  return path === '/login' || path.startsWith('/login/') || path.startsWith('/login?') ? '/' : path;
}
