import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { RedirectException } from '../common/errors/redirect.exception';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AUDIENCE, type Audience, PORTAL_PUBLIC, REPRESENTATIVES_TOO } from '../common/access/audience';
import { markSessionActivity, sessionExpired } from '../auth/session-activity';
import { SignInRequiredException } from '../common/errors/sign-in-required.exception';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { type AccountHolder, patientHolder, representativeHolder } from './account/account-holder';
import { PortalSessionsService } from './account/portal-sessions.service';
import type { LinkRoute } from './portal-links.controller';
import { PatientAccountsService, PatientPrincipal } from './patient-accounts.service';
import { RepresentativePrincipal, RepresentativeSignInService } from './representative-sign-in.service';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in patient (portal.sid sessions only); checked against the database on every request. */
    patient?: {
      patientId: number;
      generation: number;
      handle?: string;
      /** The clinic requires a second factor and the account has none: only its enrolment pages are open. */
      mustEnrol?: boolean;
    };
    /** Between a right password and the second step (no `patient` or `representative` yet): grants only the second-step page. */
    portalPending?: { holder: AccountHolder; generation: number; startedAt: number; next: string };
    /** Between opening an emailed link and submitting its form: the token's hash, never the token, and whether the identity check passed. */
    portalLink?: { tokenHash: string; purpose: LinkRoute; identityChecked?: boolean };
    /** A dead link just opened (its hash): what "Send me a new link" acts on, never a typed address. */
    deadLink?: string;
    /** A signed-in authorised representative (their own account); checked against the database on every request. */
    representative?: { accountId: number; generation: number; handle?: string; mustEnrol?: boolean };
  }
}

/** Routes a session that must still enrol (the clinic requires a second factor) may reach. */
const OPEN_DURING_ENROLMENT = 'portalOpenDuringEnrolment';
export const OpenDuringEnrolment = () => SetMetadata(OPEN_DURING_ENROLMENT, true);
/** Where such a session is sent (the account's second-factor page). */
export const PORTAL_ENROLMENT_PATH = '/portal/account/second-factor';

type PatientRequest = Request & { patient?: PatientPrincipal; representative?: RepresentativePrincipal };

/**
 * Deny by default for the patient side (registered as APP_GUARD): every route of a
 * @PatientController needs a signed-in patient unless marked @PortalPublic(). It checks
 * access still enabled, session generation unchanged, the idle timeout (htmx background
 * polls do not count as activity) and the absolute lifetime (PATIENT_ABSOLUTE_HOURS),
 * which activity cannot extend, and that the session was not ended from the account page
 * (portal_sessions, or representative_sessions for a representative's own account). Staff routes are StaffAuthGuard's and pass through here.
 */
@Injectable()
export class PatientAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly accounts: PatientAccountsService,
    private readonly representatives: RepresentativeSignInService,
    @InjectConfig() private readonly config: AppConfig,
    private readonly sessions: PortalSessionsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<Audience | undefined>(AUDIENCE, targets) !== 'patient') return true;
    if (this.reflector.getAllAndOverride<boolean>(PORTAL_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<PatientRequest>();
    const signedIn = req.session?.patient;
    const representative = req.session?.representative;
    // A representative reaches only the routes opened to them; a patient route is not theirs.
    if (representative && !this.reflector.getAllAndOverride<boolean>(REPRESENTATIVES_TOO, targets))
      throw new SignInRequiredException('/portal/login');
    if (!signedIn && !representative) throw new SignInRequiredException('/portal/login');
    const expired = sessionExpired(req, {
      idleMinutes: this.config.patientIdleMinutes,
      absoluteHours: this.config.patientAbsoluteHours,
    });
    if (representative) {
      // Checked against representative_accounts (generation) and its representative_sessions row.
      const holder = representativeHolder(representative.accountId);
      const principal = await this.stillOpen(req, holder, representative.handle, expired, () =>
        this.representatives.principalForSession(representative.accountId, representative.generation),
      );
      this.enrolmentOnly(representative.mustEnrol, targets);
      req.representative = principal;
      return true;
    }
    const patient = signedIn!;
    const principal = await this.stillOpen(req, patientHolder(patient.patientId), patient.handle, expired, () =>
      this.accounts.principalForSession(patient.patientId, patient.generation),
    );
    this.enrolmentOnly(patient.mustEnrol, targets);
    req.patient = principal;
    return true;
  }

  /** A session that must still enrol reaches only the enrolment pages. */
  private enrolmentOnly(mustEnrol: boolean | undefined, targets: Parameters<Reflector['getAllAndOverride']>[1]): void {
    if (mustEnrol && !this.reflector.getAllAndOverride<boolean>(OPEN_DURING_ENROLMENT, targets))
      throw new RedirectException(PORTAL_ENROLMENT_PATH);
  }

  /** The principal of a session that is not expired and whose row is still open; otherwise the session ends. */
  private async stillOpen<T>(
    req: Request,
    holder: AccountHolder,
    handle: string | undefined,
    expired: boolean,
    principalOf: () => Promise<T | null>,
  ): Promise<T> {
    const principal = expired ? null : (await this.sessions.isOpen(handle, holder)) ? await principalOf() : null;
    if (!principal) {
      if (expired) await this.sessions.end(holder, handle, 'expired');
      return this.endSession(req);
    }
    const before = req.session.lastActivityAt;
    markSessionActivity(req);
    await this.sessions.noteActivity(req, holder, handle, before);
    return principal;
  }

  private async endSession(req: Request): Promise<never> {
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    throw new SignInRequiredException('/portal/login');
  }
}

/** `@CurrentRepresentative()` on a @RepresentativesToo() route: the representative, or undefined for a patient. */
export const CurrentRepresentative = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): RepresentativePrincipal | undefined =>
    ctx.switchToHttp().getRequest<PatientRequest>().representative,
);

/** `@CurrentPatient() patient: PatientPrincipal` on a signed-in patient route (not @PortalPublic). */
export const CurrentPatient = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): PatientPrincipal => ctx.switchToHttp().getRequest<PatientRequest>().patient!,
);

/** `@CurrentAccountHolder()` on a @RepresentativesToo() route: whoever is signed in, representative or patient. */
export const CurrentAccountHolder = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): PatientPrincipal | RepresentativePrincipal => {
    const req = ctx.switchToHttp().getRequest<PatientRequest>();
    return (req.representative ?? req.patient)!;
  },
);
