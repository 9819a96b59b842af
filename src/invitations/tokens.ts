import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, base64url: 43 characters, safe in a URL path. */
export function newRawToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database keeps: the SHA-256 of the token, hex. Lookups are by this value only. */
export function hashToken(raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('hex');
}

/** Refuses truncated, padded or otherwise mangled tokens before any database work. */
export function isWellFormedToken(raw: unknown): raw is string {
  return typeof raw === 'string' && /^[A-Za-z0-9_-]{43}$/.test(raw);
}
