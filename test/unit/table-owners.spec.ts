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
 * Writes whose table is an expression: `UPDATE ${...} SET`, `INSERT INTO ${...}`, `DELETE FROM ${...}`, and
 * `insertRows(db, someName, ...)`. Each must resolve to tables (tablesNamedBy) or the test refuses it.
 */
const INTERPOLATED_WRITES = [
  /INSERT\s+(?:IGNORE\s+)?INTO\s+`?\$\{([^}]+)\}/gi,
  /\bUPDATE\s+`?\$\{([^}]+)\}`?\s+(?:\w+\s+)?SET\b/gi,
  /DELETE\s+(?:\w+\s+)?FROM\s+`?\$\{([^}]+)\}/gi,
  /insertRows\(\s*\w+,\s*([A-Za-z_$][\w$.[\]]*)\s*,/g,
];

/** insertRows itself: its table is its caller's argument, which the insertRows patterns above check at each call. */
const TABLE_PARAMETER_HELPERS = new Set(['database/sql.ts']);

/**
 * The tables an interpolated write may name, as its own file declares them: the file's `const TABLES = {...}`
 * map read directly (every table in the map then counts as written here), or a name whose every declaration
 * in the file is `const x = TABLES[...]` or a parameter typed as table names (`table: 'providers' | 'tags'`).
 * Null for anything else — a name passed in as any string, a field (the old `UPDATE ${this.table}`), a
 * `let` — and such a write is refused.
 */
function tablesNamedBy(expression: string, text: string): string[] | null {
  const literals = (source: string) => [...source.matchAll(/'(\w+)'/g)].map((m) => m[1]);
  const map = /const TABLES\b[^=]*=\s*(\{[\s\S]*?\});/.exec(text)?.[1];
  const head = /^\s*(\w+)/.exec(expression)?.[1];
  if (!head) return null;
  if (head === 'TABLES') return map ? literals(map) : null;
  if (new RegExp(`\\b(?:let|var)\\s+${head}\\b|\\(\\s*${head}\\s*\\)\\s*=>`).test(text)) return null;
  const constants = [...text.matchAll(new RegExp(`\\bconst ${head}\\s*=\\s*([^;]+);`, 'g'))].map((m) => m[1].trim());
  const parameters = [...text.matchAll(new RegExp(`[(,]\\s*${head}\\s*\\??:\\s*([^,)=]+)`, 'g'))].map((m) => m[1].trim());
  const named = [
    ...constants.map((value) => (value.startsWith('TABLES[') && map ? literals(map) : null)),
    ...parameters.map((type) => (/^'\w+'(?:\s*\|\s*'\w+')*$/.test(type) ? literals(type) : null)),
  ];
  return named.length > 0 && named.every(Boolean) ? [...new Set(named.flat() as string[])] : null;
}

/**
 * Tables still written from more than one module, with why. Issue 15 wants none: this list may only shrink,
 * and a new table never belongs on it (put the write in the owner's repository and call it).
 */
const SHARED = new Map<string, string>([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Which modules write each table, and the interpolated writes no file resolves (`file: expression`). */
function writersByTable(): { writers: Map<string, Set<string>>; unresolved: string[] } {
  const writers = new Map<string, Set<string>>();
  const unresolved: string[] = [];
  const add = (table: string, module: string) => writers.set(table, (writers.get(table) ?? new Set<string>()).add(module));
  for (const path of sourceFiles(SRC)) {
    const text = readFileSync(path, 'utf8');
    const file = relative(SRC, path).split(/[\\/]/).join('/');
    const module = file.split('/')[0];
    for (const pattern of WRITES) for (const match of text.matchAll(pattern)) add(match[1], module);
    if (TABLE_PARAMETER_HELPERS.has(file)) continue;
    for (const pattern of INTERPOLATED_WRITES)
      for (const match of text.matchAll(pattern)) {
        const tables = tablesNamedBy(match[1], text);
        if (tables) for (const table of tables) add(table, module);
        else unresolved.push(`${file}: ${match[1]}`);
      }
  }
  return { writers, unresolved };
}

describe('each table is written by one module (issue 15)', () => {
  const { writers, unresolved } = writersByTable();

  it('no table is written from two modules (besides the commented pending list)', () => {
    const shared = [...writers].filter(([table, modules]) => modules.size > 1 && !SHARED.has(table));
    expect(shared.map(([table, modules]) => `${table}: ${[...modules].sort().join(', ')}`)).toEqual([]);
  });

  it('every write whose table is an expression names tables its own file declares (nothing hides a table from this test)', () => {
    expect(unresolved).toEqual([]);
  });

  it('the pending list only shrinks: each entry is still written from more than one module', () => {
    const stale = [...SHARED.keys()].filter((table) => (writers.get(table)?.size ?? 0) < 2);
    expect(stale).toEqual([]);
  });

  it('portal_accounts and patients each have their one writer (the demo seed goes through them)', () => {
    expect([...(writers.get('portal_accounts') ?? [])]).toEqual(['portal-access']);
    expect([...(writers.get('patients') ?? [])]).toEqual(['patients']);
    expect([...(writers.get('representative_accounts') ?? [])]).toEqual(['portal-access']);
    expect([...(writers.get('Setting') ?? [])]).toEqual(['auth']);
    expect([...(writers.get('staff_users') ?? [])]).toEqual(['auth']);
    // Resolved through portal/'s own TABLES maps (second factors, sessions).
    expect([...(writers.get('representative_totp') ?? [])]).toEqual(['portal']);
    expect([...(writers.get('representative_sessions') ?? [])]).toEqual(['portal']);
  });

  it('catches what it is meant to catch', () => {
    const found = (text: string) => WRITES.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]));
    expect(found("tx.query('UPDATE portal_accounts SET version = version + 1')")).toEqual(['portal_accounts']);
    expect(found("insertRows(tx, 'portal_accounts', ['patient_id'], rows)")).toEqual(['portal_accounts']);
    expect(found('manager.insert(Setting, { settingKey })')).toEqual(['Setting']);
    expect(found("tx.query('SELECT id FROM patients')")).toEqual([]);
  });

  it('catches what it is meant to catch: a table named by an expression', () => {
    const interpolated = (text: string) => INTERPOLATED_WRITES.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]));
    const field = 'execute(tx, `UPDATE ${this.table} SET failed_login_count = 0 WHERE id = ?`, [id])';
    expect(interpolated(field)).toEqual(['this.table']);
    expect(tablesNamedBy('this.table', field)).toBeNull();
    expect(interpolated('tx.query(`INSERT INTO ${table} (a) VALUES (?)`); tx.query(`DELETE FROM ${t} WHERE a = ?`)')).toEqual([
      'table',
      't',
    ]);
    expect(interpolated("insertRows(tx, table, ['a'], rows); insertRows(tx, 'audit_events', ['a'], rows)")).toEqual(['table']);
    // A file's own map resolves, directly or through a local, and so does a parameter typed as table names; any string does not.
    const map =
      "const TABLES: Record<Kind, { totp: string }> = { patient: { totp: 'portal_totp' }, representative: { totp: 'representative_totp' } };";
    expect(tablesNamedBy('TABLES[holder.kind].totp', map)).toEqual(['portal_totp', 'representative_totp']);
    expect(tablesNamedBy('table', `${map}\nconst table = TABLES[holder.kind].totp;`)).toEqual([
      'portal_totp',
      'representative_totp',
    ]);
    expect(tablesNamedBy('tables.totp', `${map}\nconst tables = TABLES[holder.kind];`)).toEqual([
      'portal_totp',
      'representative_totp',
    ]);
    expect(tablesNamedBy('table', "function ensure(table: 'providers' | 'tags', names: string[]) {}")).toEqual([
      'providers',
      'tags',
    ]);
    expect(tablesNamedBy('table', `${map}\nconst table = TABLES[kind].totp;\nfunction write(table: string) {}`)).toBeNull();
    expect(tablesNamedBy('table', `${map}\nconst table = TABLES[kind].totp;\nconst table = input.table;`)).toBeNull();
  });
});
