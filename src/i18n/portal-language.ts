import type { Request, Response } from 'express';
import { fromAcceptLanguage, fromLanguageCookie, matchLanguage } from './language-choice';
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

/**
 * Once a page knows whose it is (a link's holder), it is rendered in that patient's language, unless the
 * patient picked one with the switch (the cookie wins).
 */
export function followPatientLanguage(req: Request, res: Response, preferred: string | null | undefined): void {
  const offered = (res.locals.portalLanguages as string[] | undefined) ?? [];
  if (fromLanguageCookie(req.headers.cookie, offered) !== null) return;
  const language = matchLanguage(preferred, offered);
  if (language) res.locals.lang = language;
}
