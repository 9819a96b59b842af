import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AUDIENCE, type Audience, PORTAL_PUBLIC } from '../common/access/audience';
import { markSessionActivity, sessionExpired } from '../auth/session-activity';
import { SignInRequiredException } from '../common/errors/sign-in-required.exception';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PatientAccountsService, PatientPrincipal } from './patient-accounts.service';
import type { LinkRoute } from './portal-links.controller';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in patient (portal.sid sessions only); checked against the database on every request. */
    patient?: { patientId: number; generation: number };
    /** Between opening an emailed link and submitting its form: the token's hash, never the token, and whether the identity check passed. */
    portalLink?: { tokenHash: string; purpose: LinkRoute; identityChecked?: boolean };
  }
}

type PatientRequest = Request & { patient?: PatientPrincipal };

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
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<Audience | undefined>(AUDIENCE, targets) !== 'patient') return true;
    if (this.reflector.getAllAndOverride<boolean>(PORTAL_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<PatientRequest>();
    const signedIn = req.session?.patient;
    if (!signedIn) throw new SignInRequiredException('/portal/login');
    const principal = sessionExpired(req, {
      idleMinutes: this.config.patientIdleMinutes,
      absoluteHours: this.config.patientAbsoluteHours,
    })
      ? null
      : await this.accounts.principalForSession(signedIn.patientId, signedIn.generation);
    if (!principal) {
      await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
      throw new SignInRequiredException('/portal/login');
    }
    markSessionActivity(req);
    req.patient = principal;
    return true;
  }
}

/** `@CurrentPatient() patient: PatientPrincipal` on a signed-in patient route (not @PortalPublic). */
export const CurrentPatient = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): PatientPrincipal => ctx.switchToHttp().getRequest<PatientRequest>().patient!,
);
