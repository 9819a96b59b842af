import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { redactUrl } from '../../observability/logging';
import { isHtmxRequest, wantsHtml } from '../views/htmx';
import { translateMessage } from '../../i18n/messages';

const logger = new Logger('HttpError');

/** Encodes CR/LF so user input cannot forge log lines. */
export const logSafe = (value: string) => value.replace(/[\r\n]/g, (c) => (c === '\r' ? '\\r' : '\\n'));

/** An element id of our own markup (a static hx-headers value), never a free selector. */
function errorTarget(req: Request): string {
  const asked = req.get('X-Error-Target');
  return asked && /^#[a-z][a-z0-9-]{0,40}$/.test(asked) ? asked : '#flash';
}

/**
 * The one error response of the app, for Nest's exception filter and for Express
 * middleware (body parser, CSRF): a page, an htmx flash message or JSON, never a stack trace.
 */
export function sendError(req: Request, res: Response, status: number, message: string, cause?: unknown): void {
  // The request id (every log line of this request carries it) is the reference the user can quote.
  const correlationId = String(req.id ?? randomBytes(9).toString('base64url'));
  if (status >= 500) {
    // Link tokens and query values never reach the logs (redactUrl); the logger scrubs the rest.
    const message = `${req.method} ${redactUrl(req.originalUrl)} failed`;
    if (req.log) req.log.error({ context: 'HttpError', err: cause }, message);
    else logger.error(`${message}: ${cause instanceof Error ? cause.stack : String(cause)}`);
  }
  if (res.headersSent) return;
  // A message key (i18n/messages) is written out in the page's language; any other text is shown as it is.
  const publicMessage = translateMessage(String(res.locals.lang ?? ''), status >= 500 ? 'messages:request.serverError' : message);
  res.status(status);
  res.setHeader('Cache-Control', 'no-store');
  res.vary('HX-Request');
  if (isHtmxRequest(req)) {
    // htmx swaps errors (see the htmx-config meta tag) into the page's message area, or next to the
    // controls that asked (X-Error-Target, e.g. the bulk buttons' #bulk-area), not into the target.
    res.setHeader('HX-Retarget', errorTarget(req));
    res.setHeader('HX-Reswap', 'innerHTML');
    res.render('partials/_flash', { flash: { kind: 'error', message: publicMessage, correlationId } });
    return;
  }
  if (wantsHtml(req)) {
    res.render('errors/error', { status, message: publicMessage, correlationId }, (error: Error | null, html: string) => {
      if (error) res.type('text').send(`${publicMessage} (reference ${correlationId})`);
      else res.type('html').send(html);
    });
    return;
  }
  res.json({ statusCode: status, message: publicMessage, correlationId });
}
