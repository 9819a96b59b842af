import type { Request } from 'express';
import { fromAcceptLanguage, fromLanguageCookie } from './language-choice';
import { SOURCE_LANGUAGE } from './translations';

/**
 * The language of a portal page: the patient's own pick (cookie), else the patient's preferred language once a
 * link or session names the patient (the controllers set `res.locals.lang` then), else the browser's, else English.
 */
export function portalLanguage(req: Request, offered: readonly string[]): string {
  return (
    fromLanguageCookie(req.headers.cookie, offered) ??
    fromAcceptLanguage(req.headers['accept-language'], offered) ??
    (offered.includes(SOURCE_LANGUAGE) ? SOURCE_LANGUAGE : offered[0])
  );
}

/** True when the patient picked a language themselves, which then wins over the one on their record. */
export function languagePicked(req: Request, offered: readonly string[]): boolean {
  return fromLanguageCookie(req.headers.cookie, offered) !== null;
}
