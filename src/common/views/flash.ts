import type { Request, Response } from 'express';

/** A message shown once on the next page (post/redirect/get). */
export interface Flash {
  kind: 'success' | 'error' | 'info';
  /** Text or a message key (i18n/messages); several sentences are several keys, each written out on its own. */
  message: string | string[];
  /** The array is one sentence's clauses ("2 invites will be sent; 1 skipped: …"), not sentences of their own. */
  clauses?: boolean;
}

declare module 'express-session' {
  interface SessionData {
    /** Shown by the next full page, then gone. */
    flash?: Flash;
    /**
     * Values a POST hands to the page it redirects to, read once and deleted on that read:
     * a one-time password or new recovery codes are shown once and never travel in a URL.
     */
    shownOnce?: Record<string, unknown>;
  }
}

/** What a @View handler returns to answer with "303 See Other" instead of a page. */
export interface SeeOther {
  __seeOther: string;
  flash?: Flash;
  shownOnce?: Record<string, unknown>;
}

/** Post/redirect/get: the browser lands on a GET, so Back and Reload never re-post the form. */
export function seeOther(url: string, options: { flash?: Flash | string; shownOnce?: Record<string, unknown> } = {}): SeeOther {
  const flash = typeof options.flash === 'string' ? { kind: 'success' as const, message: options.flash } : options.flash;
  return { __seeOther: url, ...(flash ? { flash } : {}), ...(options.shownOnce ? { shownOnce: options.shownOnce } : {}) };
}

export function isSeeOther(value: unknown): value is SeeOther {
  return typeof value === 'object' && value !== null && typeof (value as SeeOther).__seeOther === 'string';
}

/** Stores what a redirect carries in the session (saved before the 303 goes out: redirectSaved). */
export function keepForNextPage(req: Request, answer: SeeOther): void {
  if (!req.session) return;
  if (answer.flash) req.session.flash = answer.flash;
  if (answer.shownOnce) req.session.shownOnce = { ...req.session.shownOnce, ...answer.shownOnce };
}

export function takeFlash(req: Request): Flash | undefined {
  const flash = req.session?.flash;
  if (flash) delete req.session.flash;
  return flash;
}

/** The value under `key`, deleted from the session by this read: a reload finds nothing. */
export function takeShownOnce<T>(req: Request, key: string): T | undefined {
  const store = req.session?.shownOnce;
  if (!store || !(key in store)) return undefined;
  const value = store[key] as T;
  delete store[key];
  if (!Object.keys(store).length) delete req.session.shownOnce;
  return value;
}

/**
 * "303 See Other" once the session this request changed is stored. express-session would store it
 * only after the headers are out, and browsers (like superagent) follow a redirect on its headers:
 * the next page could read the session as it was (a flash, a sign-in, a half-signed-in state
 * lost). A store that cannot write is an error, never a silent loss. Sessions holding nothing
 * (not yet started) are not written.
 */
export async function redirectSaved(req: Request, res: Response, location: string): Promise<void> {
  const session = req.session;
  if (session && Object.keys(session).some((key) => key !== 'cookie'))
    await new Promise<void>((resolve, reject) => session.save((error) => (error ? reject(error) : resolve())));
  res.redirect(303, location);
}
