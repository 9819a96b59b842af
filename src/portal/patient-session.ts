import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { markSessionActivity, sessionExpired } from '../auth/session-activity';
import { SignInRequiredException } from '../common/errors/sign-in-required.exception';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import type { PortalTokenPurpose } from '../invitations/entities/portal-token.entity';
import { PatientAccountsService, PatientPrincipal } from './patient-accounts.service';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in patient (portal.sid sessions only); checked against the database on every request. */
    patient?: { patientId: number; generation: number };
    /** Between opening an emailed link and submitting its form: the token's hash, never the token. */
    portalLink?: { tokenHash: string; purpose: PortalTokenPurpose };
  }
}

type PatientRequest = Request & { patient?: PatientPrincipal };

/**
 * Guards the signed-in patient pages. The route must also be @Public() (no staff session
 * here); this checks the patient session instead: access still enabled, session generation
 * unchanged, the idle timeout (htmx background polls do not count as activity) and the
 * absolute lifetime (PATIENT_ABSOLUTE_HOURS), which activity cannot extend.
 */
@Injectable()
export class PatientAuthGuard implements CanActivate {
  constructor(
    private readonly accounts: PatientAccountsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<PatientRequest>();
    const signedIn = req.session?.patient;
    if (!signedIn) throw new SignInRequiredException('/portal/login');
    const principal = sessionExpired(req, { idleMinutes: this.config.patientIdleMinutes, absoluteHours: this.config.patientAbsoluteHours }) ? null : await this.accounts.principalForSession(signedIn.patientId, signedIn.generation);
    if (!principal) {
      await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
      throw new SignInRequiredException('/portal/login');
    }
    markSessionActivity(req);
    req.patient = principal;
    return true;
  }
}

/** `@CurrentPatient() patient: PatientPrincipal` on a route behind PatientAuthGuard. */
export const CurrentPatient = createParamDecorator((_data: unknown, ctx: ExecutionContext): PatientPrincipal => ctx.switchToHttp().getRequest<PatientRequest>().patient!);
