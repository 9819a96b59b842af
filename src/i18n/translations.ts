import i18next, { type i18n, type TFunction } from 'i18next';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../common/paths';

/** locales/<language>/<namespace>.json: a translation is a folder of files, never code. */
export const LOCALES_DIR = join(ROOT_DIR, 'locales');
/** The language of every string before translation, and what any missing key falls back to. */
export const SOURCE_LANGUAGE = 'en';
export const NAMESPACES = ['common', 'portal', 'emails', 'staff', 'messages'] as const;

export type Resources = Record<string, Record<string, Record<string, unknown>>>;

/** Every resource file under a locales folder, by language then namespace. */
export function readResources(dir = LOCALES_DIR): Resources {
  const resources: Resources = {};
  for (const language of readdirSync(dir)) {
    const folder = join(dir, language);
    resources[language] = {};
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.json')))
      resources[language][file.slice(0, -'.json'.length)] = JSON.parse(readFileSync(join(folder, file), 'utf8'));
  }
  return resources;
}

/** Dotted key paths of a resource object ("setPassword.title"), for the test that both languages hold the same keys. */
export function keyPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, inner]) =>
    inner !== null && typeof inner === 'object'
      ? keyPaths(inner as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

let shared: i18n | null = null;

/**
 * The one i18next instance, loaded synchronously from locales/ on first use (the files are part of the
 * app, like views/). Plurals come from Intl.PluralRules through i18next's `_one`/`_other` keys.
 */
export function translations(): i18n {
  if (shared) return shared;
  const instance = i18next.createInstance();
  void instance.init({
    resources: readResources(),
    fallbackLng: SOURCE_LANGUAGE,
    ns: [...NAMESPACES],
    defaultNS: 'common',
    initAsync: false,
    returnNull: false,
    // Nunjucks escapes what a template prints; escaping here too would show "&amp;" to patients.
    interpolation: { escapeValue: false },
  });
  shared = instance;
  return instance;
}

const fixedByLanguage = new Map<string, TFunction>();
/**
 * A translate function fixed to one language ("es-MX" is looked up as "es-MX", then "es", then English).
 * Made once per language: a page prints hundreds of sentences, and i18next builds a new function per getFixedT.
 */
export function translatorFor(language: string | null | undefined): TFunction {
  const lng = language || SOURCE_LANGUAGE;
  let fixed = fixedByLanguage.get(lng);
  if (!fixed) fixedByLanguage.set(lng, (fixed = translations().getFixedT(lng)));
  return fixed;
}

const plainSentences = new Map<string, string>();
/**
 * The sentence of a key that takes no values, remembered per language: the resources never change while the app
 * runs (they are files loaded once), and a page of 50 rows asks for the same status labels hundreds of times.
 * A key with values goes to i18next every time (plurals and interpolation stay i18next's).
 */
export function translate(language: string | null | undefined, key: string, options?: Record<string, unknown>): string {
  const lng = language || SOURCE_LANGUAGE;
  const names = options ? Object.keys(options) : [];
  if (names.length > 0)
    return plainValues(options!, names) ? fillIn(lng, key, options!, names) : (translatorFor(lng)(key, options) as string);
  const memo = `${lng}\u0000${key}`;
  let sentence = plainSentences.get(memo);
  if (sentence === undefined) plainSentences.set(memo, (sentence = translatorFor(lng)(key) as string));
  return sentence;
}

/** Option names i18next reads as instructions (plurals, context, fallbacks…), not as values to fill in. */
const I18NEXT_OPTIONS = new Set([
  'count',
  'context',
  'ordinal',
  'lng',
  'lngs',
  'ns',
  'fallbackLng',
  'returnObjects',
  'returnDetails',
  'joinArrays',
  'postProcess',
  'interpolation',
  'replace',
  'keyPrefix',
  'nsSeparator',
  'keySeparator',
  'skipInterpolation',
]);
/** Values that only fill `{{name}}` places: strings and finite numbers, under names that are no i18next option. */
const plainValues = (options: Record<string, unknown>, names: string[]) =>
  names.every(
    (name) =>
      /^\w+$/.test(name) &&
      !I18NEXT_OPTIONS.has(name) &&
      !name.startsWith('defaultValue') &&
      (typeof options[name] === 'string' || (typeof options[name] === 'number' && Number.isFinite(options[name]))),
  );

const MARK = '\u0000';
/** Per language, key and value names: the sentence cut at its places, or null where i18next must fill it in. */
const filledTemplates = new Map<string, string[] | null>();
/**
 * A sentence with values: i18next's own answer for the key with a marker in place of each value, remembered per
 * language, key and value names; the values are then put in the marked places (once, never read as markup or
 * as further places). A row of 50 patients asks for the same few sentences with other names. A sentence that
 * nests another key (`$t(…{{reason}})`) may build that key from a value, and one that formats a value
 * (`{{max, number}}`) cannot format a marker, so i18next fills those in every time.
 */
function fillIn(lng: string, key: string, options: Record<string, unknown>, names: string[]): string {
  const memo = `${lng}${MARK}${key}${MARK}${names.join(',')}`;
  let parts = filledTemplates.get(memo);
  if (parts === undefined) {
    const markers = Object.fromEntries(names.map((name) => [name, `${MARK}${name}${MARK}`]));
    parts = needsI18next(lng, key)
      ? null
      : (translatorFor(lng)(key, markers) as string).split(new RegExp(`${MARK}(\\w+)${MARK}`));
    filledTemplates.set(memo, parts);
  }
  if (!parts) return translatorFor(lng)(key, options) as string;
  // Odd positions are the value names the split captured.
  let sentence = parts[0];
  for (let i = 1; i < parts.length; i += 2) sentence += String(options[parts[i]]) + parts[i + 1];
  return sentence;
}

/** True when the text this language would use for the key (after its fallbacks) nests another key, formats a value, or is not found. */
function needsI18next(lng: string, key: string): boolean {
  const i18n = translations();
  const [namespace, path] = key.includes(':') ? key.split(':', 2) : ['common', key];
  for (const code of i18n.services.languageUtils.toResolveHierarchy(lng)) {
    const text: unknown = i18n.getResource(code, namespace, path);
    if (typeof text === 'string') return text.includes('$t(') || /\{\{[^}]*,[^}]*\}\}/.test(text);
  }
  return true;
}

/** True when locales/<language> exists, so a configured language can be served. */
export function hasLocale(language: string): boolean {
  return existsSync(join(LOCALES_DIR, language));
}

const RTL = new Set(['ar', 'fa', 'he', 'ur', 'ps', 'yi']);
/** The `dir` attribute for a language: pages and emails set it next to `lang`. */
export function textDirection(language: string): 'ltr' | 'rtl' {
  return RTL.has(language.split('-')[0].toLowerCase()) ? 'rtl' : 'ltr';
}
