import nunjucks from 'nunjucks';
import { translateMessage } from './messages';
import { SOURCE_LANGUAGE, textDirection, translate as translateKey } from './translations';

/** What Nunjucks passes as `this` to globals and filters: the render's variables. */
interface RenderContext {
  ctx: { lang?: string };
}

const languageOf = (context: RenderContext) => context.ctx.lang || SOURCE_LANGUAGE;

const HTML_TEXT: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
/**
 * Escapes a translated sentence for a text node or a double-quoted attribute (every attribute of our views).
 * An apostrophe stays as written ("the patient's phone"), as it did when the sentence was in the template.
 */
const escapeText = (text: string) => text.replace(/[&<>"]/g, (c) => HTML_TEXT[c]);

/**
 * Wires translations into a Nunjucks environment. Templates call `t('portal:login.title', { name })` (or the
 * `t` filter); the language is the render's `lang` variable (res.locals.lang on pages, the patient's on emails).
 * Dates and numbers are formatted by Intl for that language; whole sentences are keys, never glued fragments.
 */
export function installTranslations(env: nunjucks.Environment, timeZone: string): void {
  // Plain-text emails are rendered without escaping; pages and HTML emails escape what `t` prints.
  const escapes = Boolean((env as unknown as { opts?: { autoescape?: boolean } }).opts?.autoescape);
  // A value that is itself a translated sentence arrives as a SafeString; i18next reads any value as text ('' + value).
  const asText = (options?: Record<string, unknown>) =>
    options &&
    Object.fromEntries(
      Object.entries(options).map(([name, value]) => [
        name,
        value instanceof nunjucks.runtime.SafeString ? String(value) : value,
      ]),
    );
  const translate = (context: RenderContext, key: string, options?: Record<string, unknown>) =>
    translateKey(languageOf(context), key, asText(options));
  function t(this: RenderContext, key: string, options?: Record<string, unknown>) {
    const text = translate(this, key, options);
    return escapes ? new nunjucks.runtime.SafeString(escapeText(text)) : text;
  }
  env.addGlobal('t', t);
  // A sentence with markup around one of its parts (a link, a bold word): the translation is trusted markup from
  // locales/, and the caller passes every value already escaped (`value | escape`), so no sentence is cut in pieces.
  env.addGlobal('tMarkup', function (this: RenderContext, key: string, values?: Record<string, unknown>) {
    return new nunjucks.runtime.SafeString(translate(this, key, values));
  });
  env.addFilter('t', function (this: RenderContext, key: string, options?: Record<string, unknown>) {
    return t.call(this, key, options);
  });
  // A form message or flash (a key from `message()`, or older English text shown as written) in the page's language.
  env.addFilter('message', function (this: RenderContext, text: string) {
    return translateMessage(languageOf(this), text);
  });
  // The clauses of one sentence (message keys), each written out, joined as the language lists clauses ("; ").
  env.addFilter('clauses', function (this: RenderContext, parts: string[]) {
    const language = languageOf(this);
    return parts.map((part) => translateMessage(language, part)).join(translateMessage(language, 'common:clauseSeparator'));
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
