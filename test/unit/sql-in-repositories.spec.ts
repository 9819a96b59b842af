import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** What sends SQL: raw text or TypeORM's query builder (plain find/save through entities is not counted). */
const SENDS_SQL = /\.query\(|createQueryBuilder\(/;

/**
 * Files allowed to send SQL without being a `*.repository.ts`. Everything here is either the
 * data layer itself or still waiting to move; a new file never belongs on this list — put its
 * SQL in the repository of the module that owns the table (README, "How the code is organised").
 */
const ALLOWED = new Map<string, string>([
  // The data layer: the helpers repositories are built from, and the cluster's migration/health reads.
  ['src/database/sql.ts', 'data layer: insertRows and execute, the helpers repositories use'],
  ['src/database/cluster.ts', 'data layer: migrations table and Galera state reads, no feature table'],
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('SQL lives in repositories (issue 15)', () => {
  const files = sourceFiles(SRC).map((path) => ({
    file: relative(ROOT, path).split('\\').join('/'),
    sendsSql: SENDS_SQL.test(readFileSync(path, 'utf8')),
  }));

  it('no file under src/ sends SQL unless it is a *.repository.ts (or on the commented list of pending files)', () => {
    const offenders = files.filter((f) => f.sendsSql && !f.file.endsWith('.repository.ts') && !ALLOWED.has(f.file));
    expect(offenders.map((f) => f.file)).toEqual([]);
  });

  it('the list of pending files only shrinks: each entry still exists and still sends SQL', () => {
    const stale = [...ALLOWED.keys()].filter((file) => !files.some((f) => f.file === file && f.sendsSql));
    expect(stale).toEqual([]);
  });

  it('catches what it is meant to catch', () => {
    expect(SENDS_SQL.test("await this.dataSource.query('SELECT 1')")).toBe(true);
    expect(SENDS_SQL.test("manager.createQueryBuilder(Patient, 'p')")).toBe(true);
    expect(SENDS_SQL.test('repository.findOneBy({ id })')).toBe(false);
  });
});
