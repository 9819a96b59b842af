import type nunjucks from 'nunjucks';
import { translateMessage } from './messages';
import { SOURCE_LANGUAGE, textDirection, translatorFor } from './translations';

/** What Nunjucks passes as `this` to globals and filters: the render's variables. */
interface RenderContext {
  ctx: { lang?: string };
}

const languageOf = (context: RenderContext) => context.ctx.lang || SOURCE_LANGUAGE;

/**
 * Wires translations into a Nunjucks environment. Templates call `t('portal:login.title', { name })` (or the
 * `t` filter); the language is the render's `lang` variable (res.locals.lang on pages, the patient's on emails).
 * Dates and numbers are formatted by Intl for that language; whole sentences are keys, never glued fragments.
 */
export function installTranslations(env: nunjucks.Environment, timeZone: string): void {
  function t(this: RenderContext, key: string, options?: Record<string, unknown>): string {
    return translatorFor(languageOf(this))(key, options ?? {}) as string;
  }
  env.addGlobal('t', t);
  env.addFilter('t', function (this: RenderContext, key: string, options?: Record<string, unknown>) {
    return t.call(this, key, options);
  });
  // A form message or flash (a key from `message()`, or older English text shown as written) in the page's language.
  env.addFilter('message', function (this: RenderContext, text: string) {
    return translateMessage(languageOf(this), text);
  });
  env.addGlobal('textDirection', (language: string) => textDirection(language || SOURCE_LANGUAGE));
  // "1 de diciembre de 2026" / "December 1, 2026": a day as a patient reads it, in the clinic's zone.
  env.addFilter('longDate', function (this: RenderContext, value: Date | string | null) {
    if (value === null || value === undefined || value === '') return '';
    const date =
      typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T12:00:00Z`) : new Date(value);
    const zone = typeof value === 'string' && value.length === 10 ? 'UTC' : timeZone;
    return new Intl.DateTimeFormat(languageOf(this), { dateStyle: 'long', timeZone: zone }).format(date);
  });
  // "es" → "Spanish" on an English page, "español" on a Spanish one.
  env.addFilter('languageName', function (this: RenderContext, tag: string) {
    return new Intl.DisplayNames([languageOf(this)], { type: 'language' }).of(tag) ?? tag;
  });
  env.addFilter('number', function (this: RenderContext, value: number) {
    return new Intl.NumberFormat(languageOf(this)).format(value);
  });
}
