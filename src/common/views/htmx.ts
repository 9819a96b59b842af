import type { Request } from 'express';

/** A request made by htmx for a partial update (not a boosted full-page navigation). */
export function isHtmxRequest(req: Request): boolean {
  return req.get('HX-Request') === 'true' && req.get('HX-Boosted') !== 'true' && req.get('HX-History-Restore-Request') !== 'true';
}

/** A browser navigation that expects an HTML page rather than JSON or plain text. */
export function wantsHtml(req: Request): boolean {
  return isHtmxRequest(req) || (req.accepts(['html', 'json']) === 'html' && !req.is('application/json'));
}
