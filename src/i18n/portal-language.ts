import type { Request, Response } from 'express';
import { fromAcceptLanguage, fromLanguageCookie, matchLanguage } from './language-choice';
import { SOURCE_LANGUAGE } from './translations';

declare module 'express-session' {
  interface SessionData {
    /** The preferred language of the patient this session knows (a link's holder, the signed-in patient). */
    patientLanguage?: string;
  }
}

/**
 * The language of a portal page: the patient's own pick (cookie), else the preferred language of the patient the
 * session knows (a link's holder, the signed-in patient: so a form refused by its DTO answers in it too), else the
 * browser's, else English.
 */
export function portalLanguage(req: Request, offered: readonly string[]): string {
  return (
    fromLanguageCookie(req.headers.cookie, offered) ??
    matchLanguage(req.session?.patientLanguage, offered) ??
    fromAcceptLanguage(req.headers['accept-language'], offered) ??
    (offered.includes(SOURCE_LANGUAGE) ? SOURCE_LANGUAGE : offered[0])
  );
}

/**
 * Once a page knows whose it is (a link's holder, a patient just signed in), it is rendered in that patient's
 * language, unless the patient picked one with the switch (the cookie wins).
 */
export function followPatientLanguage(req: Request, res: Response, preferred: string | null | undefined): void {
  const offered = (res.locals.portalLanguages as string[] | undefined) ?? [];
  const language = matchLanguage(preferred, offered);
  // Kept for the session's next pages (portalLanguage), e.g. the same form refused by its DTO.
  if (req.session) {
    if (language) req.session.patientLanguage = language;
    else delete req.session.patientLanguage;
  }
  if (fromLanguageCookie(req.headers.cookie, offered) !== null) return;
  if (language) res.locals.lang = language;
}
