import { message } from '../i18n/messages';

/** Portal usernames: 3–64 letters, digits, dots, dashes and underscores (no '@', so a username never looks like an email). */
export const USERNAME_MIN = 3;
export const USERNAME_MAX = 64;

/**
 * The uniqueness key: NFKC (full-width "ｊ" → "j") and case folding, so "jsmith",
 * "JSmith" and "ｊsmith" are one username.
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** The username as it will be stored (NFKC), or the problem with it. */
export function checkUsername(input: string): { username: string; key: string } | { problem: string } {
  const username = input.normalize('NFKC').trim();
  const length = [...username].length;
  if (length < USERNAME_MIN || length > USERNAME_MAX)
    return { problem: message('messages:username.length', { min: USERNAME_MIN, max: USERNAME_MAX }) };
  // Letters and digits of any script, but no spaces, control, zero-width or direction-override characters.
  if (!/^[\p{L}\p{N}._-]+$/u.test(username)) return { problem: message('messages:username.characters') };
  const key = usernameKey(username);
  if (key.length > USERNAME_MAX) return { problem: message('messages:username.tooLong', { max: USERNAME_MAX }) };
  return { username, key };
}
