import { randomInt } from 'node:crypto';
import { hashToken } from '../../invitations/tokens';

/** No 0/O, 1/I/L: what is read off a screen or a letter is typed back without guessing. */
export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 8;

/** 8 characters from CODE_ALPHABET (31^8 ≈ 8.5·10^11), shown as "ABCD-EFGH". */
export function newActivationCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

export const displayCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

/**
 * What was typed, as stored: upper case, spaces and dashes dropped; null when it cannot be a
 * code (wrong length or a character outside the alphabet), so no lookup is made.
 */
export function normaliseTypedCode(typed: unknown): string | null {
  if (typeof typed !== 'string') return null;
  const code = typed.normalize('NFKC').toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== CODE_LENGTH || [...code].some((char) => !CODE_ALPHABET.includes(char))) return null;
  return code;
}

/** The code's SHA-256, as portal_tokens.code_hash keeps it. */
export const codeHashOf = (code: string) => hashToken(`code:${code}`);
