import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** Starts the real entry point with the given environment and returns how it ended. */
function start(env: Record<string, string>): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: mkdtempSync(join(tmpdir(), 'ppo-start-')), PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr.trim(), stdout: result.stdout };
}

describe('starting the app with a bad configuration', () => {
  it.each([
    [{ DATABASE_URL: 'postgres://someone@db/portal' }, /^Configuration error: DATABASE_URL has unsupported scheme "postgres:"/],
    [
      { DATABASE_URL: 'mysql://root@127.0.0.1:1/portal' },
      /^Configuration error: DATABASE_URL: cannot open the database at mysql:\/\/root@127\.0\.0\.1:1\/portal \(ECONNREFUSED\)$/,
    ],
    [{ PORT: 'eighty' }, /^Configuration error: PORT must be a whole number/],
    [{ NODE_ENV: 'production' }, /^Configuration error: SESSION_SECRET is required when NODE_ENV=production$/],
    [{ MIGRATIONS_RUN: 'sometimes' }, /^Configuration error: MIGRATIONS_RUN must be auto or skip, got "sometimes"$/],
    // A fresh database with migrations left to a deployment step: the instance refuses to run on it.
    [
      { MIGRATIONS_RUN: 'skip' },
      /^Configuration error: MIGRATIONS_RUN is skip and the database schema is behind this version \(\d+ pending: InitialSchema1764144000000, .*\); run `npm run migration:run` first$/,
    ],
  ])('with %j prints one line naming the variable and exits with 1', (env, message) => {
    const result = start(env);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
  });
});
