import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
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
import type { StaffPrincipal } from '../staff-principal';

/** Requests that poll in the background (progress boxes) send this header; they do not count as activity. */
export const BACKGROUND_POLL_HEADER = 'X-Background-Poll';

/**
 * Deny by default (registered as APP_GUARD): every route needs a signed-in, enabled
 * staff user unless marked @Public(); @Roles() narrows it further; @SecondFactorStep()
 * routes need the half-signed-in state instead.
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

    const req = context.switchToHttp().getRequest<Request>();
    // The half-signed-in state opens the second-step routes only; everywhere else it is no session at all.
    if (this.reflector.getAllAndOverride<boolean>(SECOND_FACTOR_STEP, targets)) {
      if (!freshPendingSecondFactor(req)) throw new SignInRequiredException();
      return true;
    }
    const user = req.user as StaffPrincipal | undefined;
    if (!user || !req.session) throw new SignInRequiredException();

    const now = Date.now();
    const lastActivity = req.session.lastActivityAt ?? 0;
    const signedInAt = req.session.signedInAt ?? 0;
    // Idle timeout, and an absolute lifetime that activity cannot extend.
    if (now - lastActivity > this.config.staffIdleMinutes * 60_000 || now - signedInAt > this.config.staffAbsoluteHours * 3_600_000) {
      req.session.destroy(() => undefined);
      throw new SignInRequiredException();
    }
    // Saving the session costs a write: refresh the activity mark at most once a minute.
    if (!req.get(BACKGROUND_POLL_HEADER) && now - lastActivity > 60_000) req.session.lastActivityAt = now;

    if (user.mustChangePassword && !this.reflector.getAllAndOverride<boolean>(ALLOW_PENDING_PASSWORD_CHANGE, targets)) {
      throw new RedirectException('/account/password');
    }
    const roles = this.reflector.getAllAndOverride<StaffRole[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(user.role)) throw new ForbiddenException('You do not have permission to open this page.');
    return true;
  }
}
