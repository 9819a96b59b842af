import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** Statements that write a table, by its name (raw SQL, the insertRows helper, TypeORM's manager writes by entity). */
const WRITES = [
  /INSERT\s+(?:IGNORE\s+)?INTO\s+`?(\w+)/gi,
  /\bUPDATE\s+`?(\w+)`?\s+(?:\w+\s+)?SET\b/gi,
  /DELETE\s+(?:\w+\s+)?FROM\s+`?(\w+)/gi,
  /insertRows\(\s*\w+,\s*'(\w+)'/g,
  /\.(?:insert|update|delete|save)\(\s*([A-Z]\w+)\s*,/g,
];

/**
 * Tables still written from more than one module, with why. Issue 15 wants none: this list may only shrink,
 * and a new table never belongs on it (put the write in the owner's repository and call it).
 */
const SHARED = new Map<string, string>([
  ['Setting', 'pending: the settings rows (auth MFA policy, email-change policy, setup token) want one SettingsRepository'],
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function writersByTable(): Map<string, Set<string>> {
  const writers = new Map<string, Set<string>>();
  for (const path of sourceFiles(SRC)) {
    const text = readFileSync(path, 'utf8');
    const module = relative(SRC, path).split(/[\\/]/)[0];
    for (const pattern of WRITES)
      for (const match of text.matchAll(pattern)) {
        const modules = writers.get(match[1]) ?? new Set<string>();
        writers.set(match[1], modules.add(module));
      }
  }
  return writers;
}

describe('each table is written by one module (issue 15)', () => {
  const writers = writersByTable();

  it('no table is written from two modules (besides the commented pending list)', () => {
    const shared = [...writers].filter(([table, modules]) => modules.size > 1 && !SHARED.has(table));
    expect(shared.map(([table, modules]) => `${table}: ${[...modules].sort().join(', ')}`)).toEqual([]);
  });

  it('the pending list only shrinks: each entry is still written from more than one module', () => {
    const stale = [...SHARED.keys()].filter((table) => (writers.get(table)?.size ?? 0) < 2);
    expect(stale).toEqual([]);
  });

  it('portal_accounts and patients each have their one writer (the demo seed goes through them)', () => {
    expect([...(writers.get('portal_accounts') ?? [])]).toEqual(['portal-access']);
    expect([...(writers.get('patients') ?? [])]).toEqual(['patients']);
    expect([...(writers.get('representative_accounts') ?? [])]).toEqual(['portal-access']);
  });

  it('catches what it is meant to catch', () => {
    const found = (text: string) => WRITES.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]));
    expect(found("tx.query('UPDATE portal_accounts SET version = version + 1')")).toEqual(['portal_accounts']);
    expect(found("insertRows(tx, 'portal_accounts', ['patient_id'], rows)")).toEqual(['portal_accounts']);
    expect(found('manager.insert(Setting, { settingKey })')).toEqual(['Setting']);
    expect(found("tx.query('SELECT id FROM patients')")).toEqual([]);
  });
});
