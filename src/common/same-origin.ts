import type { Request } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Defence in depth behind the CSRF token: a browser says where a request comes from
 * (Sec-Fetch-Site, Origin), and a state-changing request from another site is refused.
 * Clients that send neither header (scripts, the CLI, tests) are left to the token.
 * `publicOrigin` is PUBLIC_BASE_URL's origin; the request's own Host is accepted too
 * (an instance reached directly, e.g. on loopback).
 */
export function isCrossSiteWrite(req: Request, publicOrigin: string): boolean {
  if (SAFE_METHODS.has(req.method)) return false;
  const fetchSite = req.get('Sec-Fetch-Site');
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') return true;
  const origin = req.get('Origin');
  // Browsers send "null" under `Referrer-Policy: no-referrer` (ours), so it says nothing: Sec-Fetch-Site above decides.
  if (origin === undefined || origin === 'null' || origin === publicOrigin) return false;
  try {
    return new URL(origin).host !== req.get('Host');
  } catch {
    return true;
  }
}
