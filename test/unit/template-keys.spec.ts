import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { VIEWS_DIR } from '../../src/common/paths';
import { translations } from '../../src/i18n/translations';

/** Every template file under views/. */
function templates(dir = VIEWS_DIR): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? templates(path) : name.endsWith('.njk') ? [path] : [];
  });
}

/** The keys a template names literally: t('staff:admin.users.title') (a key built at render time is not listed). */
function literalKeys(source: string): string[] {
  return [...source.matchAll(/\bt\(\s*'([a-z]+:[A-Za-z0-9_.]+)'(?!\s*\+)/g)].map((match) => match[1]);
}

describe('keys named by templates', () => {
  it('every key a template names exists (a typo would print the key itself in every language)', () => {
    const i18n = translations();
    const missing: string[] = [];
    let named = 0;
    for (const file of templates()) {
      for (const key of literalKeys(readFileSync(file, 'utf8'))) {
        named++;
        // A plural key exists as key_one/key_other: asked with a count.
        if (!i18n.exists(key, { lng: 'en' }) && !i18n.exists(key, { lng: 'en', count: 2 }))
          missing.push(`${relative(VIEWS_DIR, file)}: ${key}`);
      }
    }
    expect(named).toBeGreaterThan(300);
    expect(missing).toEqual([]);
  });

  it('the scan finds a literal key and notices one that does not exist', () => {
    expect(
      literalKeys(
        `<h1>{{ t('staff:admin.users.title') }}</h1>{{ t("x") }}{{ t('portal:nope.missing', { a: 1 }) }}{{ t('portal:built.' + kind) }}`,
      ),
    ).toEqual(['staff:admin.users.title', 'portal:nope.missing']);
    expect(translations().exists('portal:nope.missing', { lng: 'en' })).toBe(false);
  });
});
