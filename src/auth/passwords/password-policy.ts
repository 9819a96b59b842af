import { dictionary } from '@zxcvbn-ts/language-common';
import { message } from '../../i18n/messages';

/** NIST SP 800-63B-4 while sign-in is password-only: length, not composition rules. */
export const PASSWORD_MIN_LENGTH = 15;
export const PASSWORD_MAX_LENGTH = 256;

const COMMON = new Set<string>((dictionary as Record<string, string[]>)['passwords-common'].map((word) => word.toLowerCase()));

/** Length counts code points of the NFKC form, so "é" typed either way counts once. */
export function passwordLength(password: string): number {
  return [...password.normalize('NFKC')].length;
}

/** Letters only, lower-case: what is left when digits, symbols and spaces are taken away. */
const core = (text: string) =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}]/gu, '');

/**
 * Checks a new password. `context` holds words an attacker would try first: the
 * person's name, email, username, birth date, the clinic's name.
 * Returns the problems as message keys (i18n/messages, shown in the reader's language); an empty list means acceptable.
 */
export function checkNewPassword(password: string, context: Array<string | null | undefined> = []): string[] {
  const length = passwordLength(password);
  if (length < PASSWORD_MIN_LENGTH) return [message('messages:password.tooShort', { min: PASSWORD_MIN_LENGTH })];
  if (length > PASSWORD_MAX_LENGTH) return [message('messages:password.tooLong', { max: PASSWORD_MAX_LENGTH })];
  if (password.includes('\0')) return [message('messages:password.badCharacter')];

  const lowered = password.normalize('NFKC').toLowerCase();
  const letters = core(password);
  if (
    COMMON.has(lowered) ||
    COMMON.has(lowered.replace(/\s+/g, '')) ||
    (letters.length > 0 && isRepeatOf(letters, (unit) => COMMON.has(unit)))
  ) {
    return [message('messages:password.tooCommon')];
  }
  if (new Set(lowered).size <= 3) return [message('messages:password.tooRepetitive')];

  const words = context
    .flatMap((value) =>
      (value ?? '')
        .normalize('NFKC')
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u),
    )
    .map(core)
    .filter((word) => word.length >= 3);
  const wholeContext = context.map((value) => core(value ?? '')).filter((word) => word.length >= 3);
  // Mostly made of the person's own name, email or the clinic's name (plus digits/symbols): easy to guess.
  let remaining = letters;
  for (const word of [...wholeContext, ...words].sort((a, b) => b.length - a.length)) remaining = remaining.split(word).join('');
  if (letters.length > 0 && remaining.length < Math.max(6, letters.length / 2)) {
    return [message('messages:password.personal')];
  }
  if (letters.length < 6) return [message('messages:password.needsWords')];
  return [];
}

/** "passwordpassword" and "abcabcabc": a repeated short unit. */
function isRepeatOf(text: string, accept: (unit: string) => boolean): boolean {
  for (let size = 1; size <= text.length / 2; size++) {
    if (text.length % size !== 0) continue;
    const unit = text.slice(0, size);
    if (unit.repeat(text.length / size) === text && (size < 4 || accept(unit))) return true;
  }
  return false;
}
