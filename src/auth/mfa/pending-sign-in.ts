import type { Request } from 'express';

/** A half-signed-in session (correct password, second step not done) lasts this long. */
export const PENDING_SECOND_FACTOR_MS = 5 * 60_000;
/** A WebAuthn challenge is answered within this time (the browser's own timeout is 60 s). */
export const WEBAUTHN_CHALLENGE_MS = 2 * 60_000;

export interface PendingSecondFactor {
  userId: number;
  /** The user's session generation at the password step: a disable or reset in between voids it. */
  generation: number;
  startedAt: number;
  /** Where to go once signed in. */
  next: string;
  /** The policy requires a second factor and the user has none: the only thing left to do is enrol. */
  enrol: boolean;
}

export interface WebAuthnChallenge {
  challenge: string;
  /** A portal account's (and a representative's own account's) ceremonies have their own purposes: its ids are not staff ids. */
  purpose:
    | 'register'
    | 'authenticate'
    | 'portal-register'
    | 'portal-authenticate'
    | 'representative-register'
    | 'representative-authenticate';
  userId: number;
  expiresAt: number;
}

declare module 'express-session' {
  interface SessionData {
    /** Set instead of passport's user after the password step; grants only the second-step routes. */
    pendingSecondFactor?: PendingSecondFactor;
    webauthnChallenge?: WebAuthnChallenge;
  }
}

/** The pending state if it is still fresh; an expired one is removed. Never a signed-in user. */
export function freshPendingSecondFactor(req: Request): PendingSecondFactor | null {
  const pending = req.session?.pendingSecondFactor;
  if (!pending) return null;
  if (Date.now() - pending.startedAt > PENDING_SECOND_FACTOR_MS) {
    delete req.session.pendingSecondFactor;
    return null;
  }
  return pending;
}

export function storeChallenge(req: Request, purpose: WebAuthnChallenge['purpose'], userId: number, challenge: string): void {
  req.session.webauthnChallenge = { challenge, purpose, userId, expiresAt: Date.now() + WEBAUTHN_CHALLENGE_MS };
}

/** Takes the challenge out of the session (usable once, whatever the outcome); null if absent, stale or someone else's. */
export function takeChallenge(req: Request, purpose: WebAuthnChallenge['purpose'], userId: number): string | null {
  const stored = req.session.webauthnChallenge;
  delete req.session.webauthnChallenge;
  if (!stored || stored.purpose !== purpose || stored.userId !== userId || stored.expiresAt < Date.now()) return null;
  return stored.challenge;
}
