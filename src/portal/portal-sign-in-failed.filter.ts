import { ArgumentsHost, Catch, ExceptionFilter, UnauthorizedException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { LOCKOUT_MINUTES, LOCKOUT_RULE, MAX_FAILED_SIGN_INS } from '../auth/lockout/attempt-lock';
import { message } from '../i18n/messages';
import type { Request, Response } from 'express';

/** One answer for every failed portal sign-in, whatever the reason, so it reveals nothing about the account. */
export const PATIENT_SIGN_IN_FAILED_MESSAGE = `That username and password did not work. ${LOCKOUT_RULE}`;

export class PatientSignInFailedException extends UnauthorizedException {
  constructor() {
    super(PATIENT_SIGN_IN_FAILED_MESSAGE);
  }
}

@Catch(PatientSignInFailedException, ThrottlerException)
export class PortalSignInFailedFilter implements ExceptionFilter {
  catch(exception: PatientSignInFailedException | ThrottlerException, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const throttled = exception instanceof ThrottlerException;
    const body = (req.body ?? {}) as Record<string, unknown>;
    res.status(throttled ? 429 : 401).render('portal/login', {
      // A message key, written out in the page's language by the template's `message` filter.
      error: message(throttled ? 'portal:login.throttled' : 'portal:login.failed', {
        attempts: MAX_FAILED_SIGN_INS,
        minutes: LOCKOUT_MINUTES,
      }),
      username: typeof body.username === 'string' ? body.username.slice(0, 64) : '',
      next: '',
    });
  }
}
