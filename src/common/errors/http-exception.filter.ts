import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Request, Response } from 'express';
import { translateMessage } from '../../i18n/messages';
import { isHtmxRequest, wantsHtml } from '../views/htmx';
import { FormValidationException } from '../validation/form-validation.exception';
import { sendError } from './error-response';
import { RedirectException } from './redirect.exception';
import { SignInRequiredException } from './sign-in-required.exception';

/** Every exception thrown by a Nest handler, guard or pipe ends here. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();

    if (exception instanceof SignInRequiredException) return this.signIn(req, res, exception.loginPath);
    if (exception instanceof RedirectException) return this.redirect(req, res, exception.location);

    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Messages may be keys (i18n/messages): each is written out in the page's language before they are joined.
      const language = String(res.locals.lang ?? '');
      const messages =
        exception instanceof FormValidationException ? Object.values(exception.fieldErrors).flat() : messagesOf(exception);
      return sendError(req, res, status, messages.map((text) => translateMessage(language, text)).join(' '));
    }
    sendError(req, res, HttpStatus.INTERNAL_SERVER_ERROR, 'Internal error', exception);
  }

  private redirect(req: Request, res: Response, location: string, status = 303): void {
    res.setHeader('Cache-Control', 'no-store');
    if (isHtmxRequest(req)) {
      res.setHeader('HX-Redirect', location);
      res.status(status === 303 ? 200 : status).end();
    } else if (wantsHtml(req)) {
      res.redirect(303, location);
    } else {
      res
        .status(status === 303 ? 403 : status)
        .json({ statusCode: status === 303 ? 403 : status, message: 'Action required', location });
    }
  }

  private signIn(req: Request, res: Response, loginPath: string): void {
    // Back to the same place after signing in, filters included (the login page checks `next` with safeNextPath).
    const next = req.method === 'GET' && !isHtmxRequest(req) ? req.originalUrl : currentPageOf(req);
    const target = `${loginPath}?next=${encodeURIComponent(next)}`;
    res.setHeader('Cache-Control', 'no-store');
    if (isHtmxRequest(req)) {
      // A login form inside a table cell helps nobody: send the whole page to sign-in.
      res.setHeader('HX-Redirect', target);
      res.status(401).end();
    } else if (wantsHtml(req)) {
      res.redirect(303, target);
    } else {
      res.status(401).json({ statusCode: 401, message: 'Sign-in required' });
    }
  }
}

/** Path and query of the page an htmx request came from (HX-Current-URL), or '/'. Only the path part is kept: never another origin. */
function currentPageOf(req: Request): string {
  const current = req.get('HX-Current-URL');
  if (!current) return '/';
  try {
    const url = new URL(current);
    return url.pathname + url.search;
  } catch {
    return '/';
  }
}

function messagesOf(exception: HttpException): string[] {
  const response = exception.getResponse();
  if (typeof response === 'string') return [response];
  const message = (response as { message?: string | string[] }).message;
  return Array.isArray(message) ? message : [message ?? exception.message];
}
