import type { Request } from 'express';

/** Requests that poll in the background (progress boxes) send this header; they do not count as activity. */
export const BACKGROUND_POLL_HEADER = 'X-Background-Poll';

/** The session clock, shared by staff and patient sessions. */
export function startSessionClock(req: Request, now = Date.now()): void {
  req.session.signedInAt = now;
  req.session.lastActivityAt = now;
}

/** True when the session sat idle too long, or (when given) outlived its absolute lifetime. */
export function sessionExpired(req: Request, limits: { idleMinutes: number; absoluteHours?: number }, now = Date.now()): boolean {
  if (now - (req.session.lastActivityAt ?? 0) > limits.idleMinutes * 60_000) return true;
  return limits.absoluteHours !== undefined && now - (req.session.signedInAt ?? 0) > limits.absoluteHours * 3_600_000;
}

/**
 * Records activity for the idle timeout. Saving the session costs a write, so the mark
 * moves at most once a minute; background polling never moves it.
 */
export function markSessionActivity(req: Request, now = Date.now()): void {
  if (!req.get(BACKGROUND_POLL_HEADER) && now - (req.session.lastActivityAt ?? 0) > 60_000) req.session.lastActivityAt = now;
}
