import type { SqlFragment } from './onboarding-filter';

/** The onboarding filter's language choice: a BCP 47 tag on file, or "none" for patients whose language is not known. */
export const LANGUAGE_FILTER = /^(none|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/;

export function languageCondition(language: string): SqlFragment {
  return language === 'none'
    ? { sql: 'p.preferred_language IS NULL', params: [] }
    : { sql: 'p.preferred_language = ?', params: [language] };
}
