import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A plain Node script (npm start runs it before anything is compiled).
const { buildNeeded } = require('../../scripts/build-if-stale.js') as { buildNeeded: (root: string) => string | null };

describe('npm start builds only when dist/ is older than its sources', () => {
  let root: string;
  const at = (path: string, secondsAgo: number) => {
    const time = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(join(root, path), time, time);
  };
  const file = (path: string, secondsAgo: number) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), '// x\n');
    at(path, secondsAgo);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ppo-build-'));
    file('src/main.ts', 100);
    file('src/setup/setup.controller.ts', 100);
    file('migrations/1-init.ts', 100);
    file('package-lock.json', 100);
    for (const dir of ['src/setup', 'src', 'migrations']) at(dir, 100);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('builds when there is no build yet', () => {
    expect(buildNeeded(root)).toBe('missing');
  });

  it('skips the build when nothing changed since it', () => {
    file('dist/src/main.js', 10);
    expect(buildNeeded(root)).toBeNull();
  });

  it.each([
    ['a source file deep under src/', 'src/setup/setup.controller.ts'],
    ['a migration', 'migrations/1-init.ts'],
    ['the lock file (new dependencies)', 'package-lock.json'],
  ])('rebuilds after %s changed', (_what, path) => {
    file('dist/src/main.js', 10);
    at(path, 1);
    expect(buildNeeded(root)).toBe('changed');
  });

  it('rebuilds after a source file was deleted or added (its folder changed)', () => {
    file('dist/src/main.js', 10);
    rmSync(join(root, 'src/setup/setup.controller.ts'));
    expect(buildNeeded(root)).toBe('changed');
  });
});
