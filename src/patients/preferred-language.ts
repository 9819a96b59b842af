import { matchLanguage } from '../i18n/language-choice';
import { message } from '../i18n/messages';

/** Error text shared by the dashboard and representative forms (a message key, written out in the staff language). */
export const LANGUAGE_MESSAGE = (offered: readonly string[]) =>
  message('staff:form.languageOffered', { offered: offered.join(', ') });

/**
 * A typed or imported language (BCP 47, any case: "es", "ES", "es-MX") as stored: the offered tag it
 * matches, null for empty, undefined when nothing offered matches (the caller refuses it).
 */
export function preferredLanguage(typed: string | null | undefined, offered: readonly string[]): string | null | undefined {
  if (typed === null || typed === undefined || typed.trim() === '') return null;
  return matchLanguage(typed, offered) ?? undefined;
}
