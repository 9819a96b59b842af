import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { safeNextPath } from '../common/safe-next';
import { LOCKOUT_RULE } from './lockout/attempt-lock';
import { SignInFailedException } from './guards/local-auth.guard';

/** One answer for every failed sign-in, whatever the reason, so it reveals nothing about the account. */
export const SIGN_IN_FAILED_MESSAGE = `That email and password did not work. ${LOCKOUT_RULE}`;

@Catch(SignInFailedException, ThrottlerException)
export class SignInFailedFilter implements ExceptionFilter {
  catch(exception: SignInFailedException | ThrottlerException, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const throttled = exception instanceof ThrottlerException;
    const body = (req.body ?? {}) as Record<string, unknown>;
    res.status(throttled ? 429 : 401).render('auth/login', {
      error: throttled ? 'Too many sign-in attempts from this network. Wait a minute and try again.' : SIGN_IN_FAILED_MESSAGE,
      email: typeof body.email === 'string' ? body.email.slice(0, 254) : '',
      next: safeNextPath(body.next, ''),
    });
  }
}
