import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';

export class SignInFailedException extends UnauthorizedException {}

/** Runs the local strategy and starts the session (passport regenerates the session id). */
@Injectable()
export class LocalAuthGuard extends AuthGuard('local') {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const req = context.switchToHttp().getRequest<Request>();
    await super.logIn(req);
    const now = Date.now();
    req.session.lastActivityAt = now;
    req.session.signedInAt = now;
    return true;
  }

  handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    if (error || !user) throw new SignInFailedException();
    return user;
  }
}
