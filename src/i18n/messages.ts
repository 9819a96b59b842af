import { SOURCE_LANGUAGE, translate, translations } from './translations';

/** Only a key shape (no spaces) of these namespaces is read as a message: any other text (an older English sentence) is shown as written. */
const MESSAGE = /^(messages|portal|common|staff):[A-Za-z0-9_.]+(\?\S*)?$/;

export type MessageValues = Record<string, string | number>;

/**
 * A form message kept as its key until it is rendered in the reader's language: DTOs and services
 * write `message('messages:password.tooShort', { min: 15 })`, which is the string
 * "messages:password.tooShort?min=15". Field errors stay `string[]`, so they pass through the
 * validation pipe, a redirect's flash and JSON unchanged; `translateMessage` (the `message` filter
 * in templates, the error filter for error pages and JSON) turns them into sentences.
 */
export function message(key: `${'messages' | 'portal' | 'common' | 'staff'}:${string}`, values?: MessageValues): string {
  if (!values || Object.keys(values).length === 0) return key;
  return `${key}?${new URLSearchParams(Object.entries(values).map(([name, value]): [string, string] => [name, String(value)])).toString()}`;
}

/**
 * The sentence of a message in `language`; text that is no message key (or a key no file has) is returned as it is.
 * A value that is itself a message (an import problem's "line 3", a field's name) is written in the same language.
 */
export function translateMessage(language: string, text: string): string {
  if (typeof text !== 'string' || !MESSAGE.test(text)) return text;
  const [key, query] = text.split('?', 2);
  // A number stays a number, so plural forms ("_one"/"_other") follow `count`; "007" (an id) stays as written.
  const options: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(query ?? ''))
    options[name] = /^(0|[1-9]\d{0,8})$/.test(value) ? Number(value) : translateMessage(language, value);
  const i18n = translations();
  if (!i18n.exists(key, { ...options, lng: SOURCE_LANGUAGE })) return text;
  return translate(language, key, options);
}
