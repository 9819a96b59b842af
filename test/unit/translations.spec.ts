import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { fromAcceptLanguage, fromLanguageCookie, matchLanguage } from '../../src/i18n/language-choice';
import { installTranslations } from '../../src/i18n/nunjucks-i18n';
import {
  keyPaths,
  readResources,
  SOURCE_LANGUAGE,
  textDirection,
  translate,
  translations,
  translatorFor,
} from '../../src/i18n/translations';
import { loadConfig } from '../../src/config/app-config';

/** Keys of one language that another language lacks, per namespace ("es/portal.json: login.title"). */
function missingKeys(resources: ReturnType<typeof readResources>): string[] {
  const languages = Object.keys(resources);
  const namespaces = [...new Set(languages.flatMap((language) => Object.keys(resources[language])))];
  const problems: string[] = [];
  for (const namespace of namespaces) {
    const keysOf = (language: string) => new Set(keyPaths(resources[language][namespace] ?? {}));
    for (const language of languages)
      for (const other of languages)
        for (const key of keysOf(other)) if (!keysOf(language).has(key)) problems.push(`${language}/${namespace}.json: ${key}`);
  }
  return problems;
}

/**
 * Keys written twice in one object of a JSON text ("notices" twice at the top level): JSON.parse keeps
 * the last silently, so one section's keys would vanish and print as key names.
 */
function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  const open: Array<{ path: string; keys: Set<string> } | null> = []; // null: an array
  let expectingKey = false;
  let lastKey = '';
  for (const [token] of text.matchAll(/"(?:[^"\\]|\\.)*"|[{}[\],]/g)) {
    const top = open[open.length - 1];
    if (token === '{') {
      open.push({ path: top ? `${top.path}${lastKey}.` : '', keys: new Set() });
      expectingKey = true;
    } else if (token === '[') open.push(null);
    else if (token === '}' || token === ']') open.pop();
    else if (token === ',') expectingKey = top !== null && top !== undefined;
    else if (expectingKey && top) {
      lastKey = JSON.parse(token) as string;
      if (top.keys.has(lastKey)) found.push(`${top.path}${lastKey}`);
      top.keys.add(lastKey);
      expectingKey = false;
    }
  }
  return found;
}

describe('translations', () => {
  it('no resource file writes a key twice in one object', () => {
    const root = join(__dirname, '..', '..', 'locales');
    const problems = readdirSync(root).flatMap((language) =>
      readdirSync(join(root, language))
        .filter((file) => file.endsWith('.json'))
        .flatMap((file) =>
          duplicateKeys(readFileSync(join(root, language, file), 'utf8')).map((key) => `${language}/${file}: ${key}`),
        ),
    );
    expect(problems).toEqual([]);
  });

  it('the duplicate check names a key written twice, at any depth', () => {
    expect(duplicateKeys('{"a": {"b": 1, "c": [1, {"d": 2}], "b": 3}, "e": "x,y", "a": {}}')).toEqual(['a.b', 'a']);
    expect(duplicateKeys('{"a": "\\"a\\"", "b": {"a": 1}}')).toEqual([]);
  });

  it('every key in one language exists in every other language', () => {
    const resources = readResources();
    expect(Object.keys(resources).sort()).toEqual(expect.arrayContaining(['en', 'es']));
    expect(missingKeys(resources)).toEqual([]);
  });

  it('the parity check names a key that only one language has', () => {
    const dir = mkdtempSync(join(tmpdir(), 'locales-'));
    for (const [language, body] of [
      ['en', { a: 'A', nested: { b: 'B', c: 'C' } }],
      ['es', { a: 'A', nested: { b: 'B' } }],
    ] as const) {
      mkdirSync(join(dir, language));
      writeFileSync(join(dir, language, 'portal.json'), JSON.stringify(body));
    }
    expect(missingKeys(readResources(dir))).toEqual(['es/portal.json: nested.c']);
  });

  it('every configured default language has its resources', () => {
    const resources = readResources();
    for (const language of loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), MFA_ENCRYPTION_KEY: 'y'.repeat(32) })
      .languages)
      expect(Object.keys(resources[language] ?? {}).length).toBeGreaterThan(0);
  });

  it('translates with interpolation, falls back from a region to its language, and from an unknown one to English', () => {
    expect(translatorFor('es')('portal:home.welcome', { name: 'Marisol' })).toBe('Le damos la bienvenida, Marisol');
    expect(translatorFor('es-MX')('portal:login.submit')).toBe('Entrar');
    expect(translatorFor('fr')('portal:login.submit')).toBe('Sign in');
    expect(translatorFor(null)('portal:login.submit')).toBe(translatorFor(SOURCE_LANGUAGE)('portal:login.submit'));
  });

  it('plural forms follow the language (Intl.PluralRules)', () => {
    expect(translatorFor('en')('emails:validFor.days', { count: 1 })).toBe('1 day');
    expect(translatorFor('en')('emails:validFor.days', { count: 7 })).toBe('7 days');
    expect(translatorFor('es')('emails:validFor.days', { count: 1 })).toBe('1 día');
    expect(translatorFor('es')('emails:validFor.hours', { count: 2 })).toBe('2 horas');
  });

  it('Nunjucks pages translate by their `lang`, escape what the translation interpolates, and format dates per locale', () => {
    const env = new nunjucks.Environment(null, { autoescape: true });
    installTranslations(env, 'America/New_York');
    const page = "{{ t('portal:home.welcome', { name: name }) }}|{{ day | longDate }}|{{ textDirection(lang) }}";
    expect(env.renderString(page, { lang: 'es', name: '<b>Zoë</b>', day: '2026-12-01' })).toBe(
      'Le damos la bienvenida, &lt;b&gt;Zoë&lt;/b&gt;|1 de diciembre de 2026|ltr',
    );
    expect(env.renderString(page, { lang: 'en', name: 'Ann', day: '2026-12-01' })).toBe('Welcome, Ann|December 1, 2026|ltr');
    expect(textDirection('ar')).toBe('rtl');
  });

  it('t escapes for text and double-quoted attributes but keeps an apostrophe; tMarkup keeps the markup the caller escaped', () => {
    const env = new nunjucks.Environment(null, { autoescape: true });
    installTranslations(env, 'UTC');
    expect(
      env.renderString("{{ t('staff:activationCode.headingRepresentative', { name: name }) }}", {
        lang: 'en',
        name: 'Ann "<b>"',
      }),
    ).toBe("Activate on Ann &quot;&lt;b&gt;&quot;'s phone");
    const markup = "{{ tMarkup('staff:activity.fullTrail', { place: '<em>' + (place | escape) + '</em>' }) }}";
    expect(env.renderString(markup, { lang: 'es', place: '<i>' })).toBe(
      'El registro completo, con todos los detalles, está en <em>&lt;i&gt;</em> (administradores).',
    );
    // Plain-text emails are not escaped at all.
    const text = new nunjucks.Environment(null, { autoescape: false });
    installTranslations(text, 'UTC');
    expect(text.renderString("{{ t('staff:patient.appointmentWith', { when: 'x', provider: 'A & B' }) }}", { lang: 'en' })).toBe(
      'x with A & B',
    );
  });

  it('every staff.json key exists in both languages, plural forms included', () => {
    const resources = readResources();
    expect(keyPaths(resources.en.staff).length).toBeGreaterThan(300);
    expect(keyPaths(resources.es.staff).sort()).toEqual(keyPaths(resources.en.staff).sort());
  });

  it('a language comes from the cookie, else the best Accept-Language match, and only from the offered list', () => {
    const offered = ['en', 'es'];
    expect(fromAcceptLanguage('fr-CA,es-MX;q=0.9,en;q=0.8', offered)).toBe('es');
    expect(fromAcceptLanguage('en;q=0.5,es;q=0.9', offered)).toBe('es');
    expect(fromAcceptLanguage('de,fr', offered)).toBeNull();
    expect(fromAcceptLanguage('es;q=0', offered)).toBeNull();
    expect(fromLanguageCookie('a=1; portal_lang=es; b=2', offered)).toBe('es');
    expect(fromLanguageCookie('portal_lang=de', offered)).toBeNull();
    expect(matchLanguage('ES', offered)).toBe('es');
    expect(matchLanguage('<script>', offered)).toBeNull();
  });
});

describe('translate (the remembered sentences)', () => {
  it('answers every key of every language exactly as i18next does, asked once and again', () => {
    const resources = readResources();
    const differences: string[] = [];
    for (const language of [...Object.keys(resources), 'es-MX', 'xx'])
      for (const [namespace, tree] of Object.entries(resources[SOURCE_LANGUAGE]))
        for (const path of keyPaths(tree)) {
          const key = `${namespace}:${path.replace(/_(one|other|zero|few|many)$/, '')}`;
          const expected = translations().getFixedT(language)(key) as string;
          for (let round = 0; round < 2; round++)
            if (translate(language, key) !== expected) differences.push(`${language} ${key}`);
        }
    expect(differences).toEqual([]);
  });

  it('fills in values exactly as i18next does, for every key with places, in every language', () => {
    const resources = readResources();
    const differences: string[] = [];
    // A value that looks like markup, a place and a nested key: it must land as written, read once.
    const tricky = (name: string) => `Ana <b>&amp; {{${name}}} $t(common:clinic) \u0000x\u0000 ${name}`;
    for (const language of [...Object.keys(resources), 'es-MX'])
      for (const [namespace, tree] of Object.entries(resources[SOURCE_LANGUAGE]))
        for (const path of keyPaths(tree)) {
          const text = path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree);
          // `{{max, number}}` too: a formatted value must reach i18next itself.
          const places = [...String(text).matchAll(/\{\{(\w+)(,[^}]*)?\}\}/g)];
          const formatted = new Set(places.filter((match) => match[2]).map((match) => match[1]));
          const names = [...new Set(places.map((match) => match[1]))];
          if (names.length === 0) continue;
          const key = `${namespace}:${path.replace(/_(one|other|zero|few|many)$/, '')}`;
          const values = Object.fromEntries(
            names.map((name, i) => [name, name === 'count' ? 2 : formatted.has(name) ? 12345 : i % 2 ? 42 : tricky(name)]),
          );
          for (let round = 0; round < 2; round++)
            if (translate(language, key, values) !== translations().getFixedT(language)(key, values))
              differences.push(`${language} ${key}: ${translate(language, key, values)}`);
        }
    expect(differences).toEqual([]);
  });

  it('still interpolates and picks plural forms when values are given', () => {
    expect(translate('en', 'staff:reach.representatives', { count: 1 })).not.toEqual(
      translate('en', 'staff:reach.representatives', { count: 2 }),
    );
    expect(translate('en', 'staff:row.select', { name: 'Ana Díaz' })).toContain('Ana Díaz');
    expect(translate('es', 'staff:row.select', { name: 'Ana Díaz' })).toEqual(
      translatorFor('es')('staff:row.select', { name: 'Ana Díaz' }),
    );
  });
});
