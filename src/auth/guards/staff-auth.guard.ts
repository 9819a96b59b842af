import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AUDIENCE, type Audience } from '../../common/access/audience';
import { RedirectException } from '../../common/errors/redirect.exception';
import { SignInRequiredException } from '../../common/errors/sign-in-required.exception';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { ALLOW_PENDING_PASSWORD_CHANGE } from '../decorators/allow-pending-password-change.decorator';
import { IS_PUBLIC } from '../decorators/public.decorator';
import { ROLES } from '../decorators/roles.decorator';
import { SECOND_FACTOR_STEP } from '../decorators/second-factor-step.decorator';
import { freshPendingSecondFactor } from '../mfa/pending-sign-in';
import type { StaffRole } from '../entities/staff-user.entity';
import { markSessionActivity, sessionExpired } from '../session-activity';
import type { StaffPrincipal } from '../staff-principal';

/**
 * Deny by default (registered as APP_GUARD): every route needs a signed-in, enabled
 * staff user unless marked @Public(); @Roles() narrows it further; @SecondFactorStep()
 * routes need the half-signed-in state instead. Patient-audience routes belong to PatientAuthGuard.
 */
@Injectable()
export class StaffAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    // Patient routes (@PatientController) are not staff routes: the patient guard decides there.
    if (this.reflector.getAllAndOverride<Audience | undefined>(AUDIENCE, targets) === 'patient') return true;

    const req = context.switchToHttp().getRequest<Request>();
    // The half-signed-in state opens the second-step routes only; everywhere else it is no session at all.
    if (this.reflector.getAllAndOverride<boolean>(SECOND_FACTOR_STEP, targets)) {
      if (!freshPendingSecondFactor(req)) throw new SignInRequiredException();
      return true;
    }
    const user = req.user as StaffPrincipal | undefined;
    if (!user || !req.session) throw new SignInRequiredException();

    // Idle timeout, and an absolute lifetime that activity cannot extend.
    if (sessionExpired(req, { idleMinutes: this.config.staffIdleMinutes, absoluteHours: this.config.staffAbsoluteHours })) {
      req.session.destroy(() => undefined);
      throw new SignInRequiredException();
    }
    markSessionActivity(req);

    if (user.mustChangePassword && !this.reflector.getAllAndOverride<boolean>(ALLOW_PENDING_PASSWORD_CHANGE, targets)) {
      throw new RedirectException('/account/password');
    }
    const roles = this.reflector.getAllAndOverride<StaffRole[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(user.role)) throw new ForbiddenException('You do not have permission to open this page.');
    return true;
  }
}
