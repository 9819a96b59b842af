import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { StaffAuthenticator } from '../staff-authenticator';

export class SignInFailedException extends UnauthorizedException {}

/** Runs passport's local strategy on the sign-in form and starts the session. */
@Injectable()
export class LocalAuthGuard implements CanActivate {
  constructor(private readonly authenticator: StaffAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const principal = await this.authenticator.authenticate(req);
    if (!principal) throw new SignInFailedException();
    await this.authenticator.logIn(req, principal);
    const now = Date.now();
    req.session.lastActivityAt = now;
    req.session.signedInAt = now;
    return true;
  }
}
