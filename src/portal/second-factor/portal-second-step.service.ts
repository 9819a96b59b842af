import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { PATIENT_ATTEMPTS } from '../../auth/lockout/attempt-locks.repository';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { PENDING_SECOND_FACTOR_MS, storeChallenge, takeChallenge } from '../../auth/mfa/pending-sign-in';
import { SignInRequiredException } from '../../common/errors/sign-in-required.exception';
import { PortalSessionsService } from '../account/portal-sessions.service';
import { PatientAccountsService, patientActor, type PatientPrincipal } from '../patient-accounts.service';
import { PORTAL_ENROLMENT_PATH } from '../patient-session';
import { PortalSecondFactorService } from './portal-second-factor.service';
import { patientHolder } from '../account/account-holder';

export const PORTAL_SECOND_STEP_PATH = '/portal/login/second-step';

export type PortalCodeResult = { outcome: 'signed-in'; next: string } | { outcome: 'wrong-code' } | { outcome: 'locked' };

/**
 * The portal sign-in after the password: a half-signed-in session (no `patient`, so the guard
 * grants nothing) until a code from the authenticator app or a recovery code completes it
 * under a fresh session id. Wrong codes count with the password failures (one lockout).
 */
@Injectable()
export class PortalSecondStepService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly accounts: PatientAccountsService,
    private readonly factors: PortalSecondFactorService,
    private readonly sessions: PortalSessionsService,
  ) {}

  /** After a right password: the second step, or a signed-in session (restricted to enrolment when the clinic requires a factor). */
  async afterPassword(
    req: Request,
    patient: PatientPrincipal & { secondStep: boolean },
    next: string,
    context: AuditContext,
  ): Promise<string> {
    const generation = await this.accounts.sessionGenerationOf(patient.patientId);
    if (patient.secondStep) {
      await new Promise<void>((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
      req.session.portalPending = { patientId: patient.patientId, generation, startedAt: Date.now(), next };
      return PORTAL_SECOND_STEP_PATH;
    }
    const mustEnrol = await this.factors.isRequired();
    await this.sessions.signIn(req, patientHolder(patient.patientId), generation, context, mustEnrol);
    return mustEnrol ? PORTAL_ENROLMENT_PATH : next;
  }

  /** The half-signed-in account, re-checked (access, sessions ended, lockout); else back to sign-in. */
  async pending(req: Request): Promise<PatientPrincipal> {
    const pending = req.session?.portalPending;
    const fresh = pending && Date.now() - pending.startedAt <= PENDING_SECOND_FACTOR_MS;
    const principal = fresh ? await this.accounts.principalForSession(pending.patientId, pending.generation) : null;
    if (!principal || (await PATIENT_ATTEMPTS.isLocked(this.dataSource, principal.patientId))) {
      if (req.session) delete req.session.portalPending;
      throw new SignInRequiredException('/portal/login');
    }
    return principal;
  }

  /** Whether the pending account can answer with a passkey (the page offers the button). */
  async hasPasskeys(req: Request): Promise<boolean> {
    const principal = await this.pending(req);
    return (await this.factors.status(principal.patientId)).passkeys.length > 0;
  }

  async verify(req: Request, code: string, context: AuditContext): Promise<PortalCodeResult> {
    return this.attempt(req, context, 'wrong_code', async (accountId, actor) => {
      const match = await this.factors.matchCode(accountId, code, actor);
      return match ? match.factor : null;
    });
  }

  /** The passkey ceremony's options; the challenge waits in the half-signed-in session, usable once. */
  async passkeyOptions(req: Request): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const principal = await this.pending(req);
    const options = await this.factors.passkeySignInOptions(principal.patientId);
    storeChallenge(req, 'portal-authenticate', principal.patientId, options.challenge);
    return options;
  }

  /** A passkey's answer instead of a code: counted with the lockout like one. */
  async verifyPasskey(req: Request, response: AuthenticationResponseJSON, context: AuditContext): Promise<PortalCodeResult> {
    const principal = await this.pending(req);
    const challenge = takeChallenge(req, 'portal-authenticate', principal.patientId);
    return this.attempt(req, context, 'wrong_passkey', async (accountId) =>
      (await this.factors.matchPasskey(accountId, response, challenge)) ? 'passkey' : null,
    );
  }

  /** One second-step attempt: reserved before it is checked, a failure counted, a success signs in under a new session id. */
  private async attempt(
    req: Request,
    context: AuditContext,
    failure: string,
    check: (accountId: number, actor: AuditContext) => Promise<string | null>,
  ): Promise<PortalCodeResult> {
    const principal = await this.pending(req);
    const { generation, next } = req.session.portalPending!;
    const accountId = principal.patientId;
    const actor = patientActor(context, accountId, principal.username);
    const now = new Date();
    if (!(await PATIENT_ATTEMPTS.reserve(this.dataSource, accountId, now))) return { outcome: 'locked' };
    const factor = await check(accountId, actor);
    if (!factor) {
      await this.accounts.recordWrongPassword(accountId, actor, now, 'patient.sign_in', failure);
      return (await PATIENT_ATTEMPTS.isLocked(this.dataSource, accountId)) ? { outcome: 'locked' } : { outcome: 'wrong-code' };
    }
    await this.accounts.completeSignIn(accountId, actor, factor, now);
    await this.sessions.signIn(req, patientHolder(accountId), generation, context);
    return { outcome: 'signed-in', next };
  }
}
