import nunjucks from 'nunjucks';
import { join } from 'node:path';
import { VIEWS_DIR } from '../common/paths';
import type { AppConfig } from '../config/app-config';
import { matchLanguage } from '../i18n/language-choice';
import { installTranslations } from '../i18n/nunjucks-i18n';

/** The Content-ID of the clinic's logo (CLINIC_LOGO_PATH), attached by the sender to every email that shows it. */
export const LOGO_CID = 'clinic-logo';

/**
 * Nunjucks environments for emails (views/emails): HTML escapes, the plain-text part
 * does not. One loader each: a loader caches templates compiled for its environment.
 * Both translate by the render's `lang` (the patient's language).
 */
export function emailEnvironments(timeZone = 'UTC'): { html: nunjucks.Environment; text: nunjucks.Environment } {
  const loader = () => new nunjucks.FileSystemLoader(join(VIEWS_DIR, 'emails'));
  const html = new nunjucks.Environment(loader(), { autoescape: true, throwOnUndefined: true });
  const text = new nunjucks.Environment(loader(), { autoescape: false, throwOnUndefined: true });
  installTranslations(html, timeZone);
  installTranslations(text, timeZone);
  return { html, text };
}

/** What every patient email's layout prints besides its own words (views/emails/_layout.*). */
export function emailFrame(config: AppConfig, language: string) {
  return {
    lang: language,
    clinicName: config.clinicName,
    clinicPhone: config.clinicPhone ?? '',
    logo: config.clinicLogoPath ? LOGO_CID : '',
  };
}

/** The patient's language if the portal offers it (a region falls back to its language), else the default. */
export function emailLanguage(config: AppConfig, preferred: string | null | undefined): string {
  return matchLanguage(preferred, config.languages) ?? config.languages[0];
}
