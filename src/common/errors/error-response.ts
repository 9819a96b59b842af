import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { isHtmxRequest, wantsHtml } from '../views/htmx';

const logger = new Logger('HttpError');

/** Encodes CR/LF so user input cannot forge log lines. */
export const logSafe = (value: string) => value.replace(/[\r\n]/g, (c) => (c === '\r' ? '\\r' : '\\n'));

/**
 * The one error response of the app, for Nest's exception filter and for Express
 * middleware (body parser, CSRF): a page, an htmx flash message or JSON, never a stack trace.
 */
export function sendError(req: Request, res: Response, status: number, message: string, cause?: unknown): void {
  const correlationId = randomUUID();
  if (status >= 500) {
    const stack = cause instanceof Error ? cause.stack : String(cause);
    // Emailed link tokens never reach the logs.
    logger.error(`${correlationId} ${req.method} ${logSafe(redactTokens(req.path))}: ${stack}`);
  }
  if (res.headersSent) return;
  const publicMessage = status >= 500 ? 'Something went wrong on our side. Nothing was changed.' : message;
  res.status(status);
  res.setHeader('Cache-Control', 'no-store');
  res.vary('HX-Request');
  if (isHtmxRequest(req)) {
    // htmx swaps errors (see the htmx-config meta tag) into the page's message area, not into the target.
    res.setHeader('HX-Retarget', '#flash');
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

/** Link tokens never reach a log, whatever the case of the path (routing is case-sensitive, clients are not). */
export function redactTokens(path: string): string {
  return path.replace(/(\/portal\/(?:invite|reset|email-change\/(?:confirm|report))\/)[^/?#]+/gi, '$1[token]');
}
