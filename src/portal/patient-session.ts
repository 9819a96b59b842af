import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AUDIENCE, type Audience, PORTAL_PUBLIC, REPRESENTATIVES_TOO } from '../common/access/audience';
import { markSessionActivity, sessionExpired } from '../auth/session-activity';
import { SignInRequiredException } from '../common/errors/sign-in-required.exception';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import type { PortalTokenPurpose } from '../invitations/entities/portal-token.entity';
import { PatientAccountsService, PatientPrincipal } from './patient-accounts.service';
import { RepresentativePrincipal, RepresentativeSignInService } from './representative-sign-in.service';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in patient (portal.sid sessions only); checked against the database on every request. */
    patient?: { patientId: number; generation: number };
    /** Between opening an emailed link and submitting its form: the token's hash, never the token. */
    portalLink?: { tokenHash: string; purpose: PortalTokenPurpose };
    /** A signed-in authorised representative (their own account); checked against the database on every request. */
    representative?: { accountId: number; generation: number };
  }
}

type PatientRequest = Request & { patient?: PatientPrincipal; representative?: RepresentativePrincipal };

/**
 * Deny by default for the patient side (registered as APP_GUARD): every route of a
 * @PatientController needs a signed-in patient unless marked @PortalPublic(). It checks
 * access still enabled, session generation unchanged, the idle timeout (htmx background
 * polls do not count as activity) and the absolute lifetime (PATIENT_ABSOLUTE_HOURS),
 * which activity cannot extend. Staff routes are StaffAuthGuard's and pass through here.
 */
@Injectable()
export class PatientAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly accounts: PatientAccountsService,
    private readonly representatives: RepresentativeSignInService,
    @InjectConfig() private readonly config: AppConfig,
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
      const principal = expired
        ? null
        : await this.representatives.principalForSession(representative.accountId, representative.generation);
      if (!principal) return this.endSession(req);
      req.representative = principal;
    } else {
      const principal = expired ? null : await this.accounts.principalForSession(signedIn!.patientId, signedIn!.generation);
      if (!principal) return this.endSession(req);
      req.patient = principal;
    }
    markSessionActivity(req);
    return true;
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
