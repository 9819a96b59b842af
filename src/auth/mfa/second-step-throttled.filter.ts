import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { LOCKOUT_MINUTES } from '../lockout/attempt-lock';
import { sendError } from '../../common/errors/error-response';

export const LOCKED_MESSAGE = `Too many failed attempts: the account is locked for ${LOCKOUT_MINUTES} minutes. Sign in again later, or ask an admin to unlock it.`;

/** Too many second-step attempts from one network: a clear message, never a stack trace. */
@Catch(ThrottlerException)
export class SecondStepThrottledFilter implements ExceptionFilter {
  catch(_exception: ThrottlerException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(
      http.getRequest<Request>(),
      http.getResponse<Response>(),
      429,
      'Too many attempts from this network. Wait a minute and try again.',
    );
  }
}
