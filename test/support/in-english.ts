import { translateMessage } from '../../src/i18n/messages';

/**
 * A value with every message key in it (an import row's place and reasons, the counts' not-imported reasons) read in
 * English, as the CLI prints them and an English page shows them; other text, numbers and dates stay as they are.
 */
export function inEnglish<T>(value: T): T {
  if (typeof value === 'string') return translateMessage('en', value) as T;
  if (Array.isArray(value)) return value.map((item) => inEnglish(item)) as T;
  if (value && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, inner]) => [translateMessage('en', key), inEnglish(inner)]),
    ) as T;
  return value;
}
