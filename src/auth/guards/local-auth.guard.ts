import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { SecondStepService } from '../mfa/second-step.service';
import { StaffAuthenticator } from '../staff-authenticator';

declare module 'express' {
  interface Request {
    /** Where the sign-in form sends the browser: the requested page, or the second step. */
    signInRedirect?: string;
  }
}

export class SignInFailedException extends UnauthorizedException {}

/** Runs passport's local strategy on the sign-in form and starts the session, or the second step when one is due. */
@Injectable()
export class LocalAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: StaffAuthenticator,
    private readonly secondStep: SecondStepService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const principal = await this.authenticator.authenticate(req);
    if (!principal) throw new SignInFailedException();
    req.signInRedirect = await this.secondStep.afterPassword(req, principal, (req.body as { next?: unknown } | undefined)?.next);
    return true;
  }
}
