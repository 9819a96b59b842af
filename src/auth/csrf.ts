import { csrfSync } from 'csrf-sync';
import type { Request, Response } from 'express';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/app-config';

/** The nonce cookie behind the CSRF token of visitors who have no stored session yet (`__Host-` once Secure, as the staff cookie). */
export const CSRF_NONCE_COOKIE = 'csrf.nonce';
const nonceCookieName = (config: Pick<AppConfig, 'cookieSecure'>) =>
  config.cookieSecure ? `__Host-${CSRF_NONCE_COOKIE}` : CSRF_NONCE_COOKIE;
const ANONYMOUS_PREFIX = 'a.';

/** Someone is signed in (or half-way, at the second step): only the session-stored token counts then. */
function signedIn(req: Request): boolean {
  const session = req.session as (typeof req.session & { passport?: { user?: unknown } }) | undefined;
  return Boolean(req.user || session?.passport?.user || session?.pendingSecondFactor || session?.patient);
}

/** The session holds something worth storing (beyond its cookie): a token there costs no new row. */
function hasStoredState(req: Request): boolean {
  return Boolean(req.session && Object.keys(req.session).some((key) => key !== 'cookie'));
}

function nonceOf(req: Request, cookieName: string): string | null {
  const match = new RegExp(`(?:^|;\\s*)${cookieName.replace(/[.-]/g, '\\$&')}=([A-Za-z0-9_-]{43})(?:;|$)`).exec(
    req.headers.cookie ?? '',
  );
  return match ? match[1] : null;
}

/**
 * CSRF tokens for every form, including sign-in, without creating a stored session for each
 * anonymous visit (the outside review: 1,000 anonymous GETs → 1,000 session rows).
 * - A visitor with session state (signed in, half-way, holding an emailed link) gets csrf-sync's
 *   synchroniser token, kept in that session.
 * - An anonymous visitor gets a signed double-submit token: a random nonce in an HttpOnly
 *   cookie, and HMAC(SESSION_SECRET, nonce) in the form. Accepted only while nobody is signed
 *   in, so a planted nonce can never carry a request made in someone's signed-in session.
 */
export function createCsrfProtection(config: AppConfig) {
  const sync = csrfSync({
    size: 32,
    getTokenFromRequest: (req) => submittedToken(req),
  });
  // A page asks for its token several times (body, each form): one new nonce per response.
  const issued = new WeakMap<Request, string>();
  const cookieName = nonceCookieName(config);
  const sign = (nonce: string) =>
    ANONYMOUS_PREFIX + createHmac('sha256', config.sessionSecret).update(`csrf:${nonce}`).digest('base64url');

  function submittedToken(req: Request): string | undefined {
    return req.body && typeof req.body._csrf === 'string' ? req.body._csrf : req.get('X-CSRF-Token');
  }

  function anonymousTokenValid(req: Request): boolean {
    const token = submittedToken(req);
    const nonce = nonceOf(req, cookieName);
    if (!token || !nonce || !token.startsWith(ANONYMOUS_PREFIX) || signedIn(req)) return false;
    const expected = Buffer.from(sign(nonce));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  return {
    /** For state-changing requests: the synchroniser token, or an anonymous visitor's double-submit token. */
    isValid(req: Request): boolean {
      if (['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return true;
      return sync.isRequestValid(req) || anonymousTokenValid(req);
    },
    /** The token a rendered form carries; sets the nonce cookie for an anonymous visitor. */
    tokenFor(req: Request, res: Response): string {
      if (hasStoredState(req)) return sync.generateToken(req);
      let nonce = nonceOf(req, cookieName) ?? issued.get(req);
      if (!nonce) {
        nonce = randomBytes(32).toString('base64url');
        issued.set(req, nonce);
        if (!res.headersSent)
          res.cookie(cookieName, nonce, { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, path: '/' });
      }
      return sign(nonce);
    },
  };
}
