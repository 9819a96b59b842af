/**
 * npm run bench:phases — where one onboarding page request spends its time (issue 23):
 * the app in production mode with SERVER_TIMING=1 answers each request with its phases
 * (session load, staff user, guard, count, list = keys + rows, invites, audit write, render, total).
 * Sequential requests on one connection; medians per phase. PHASE_DATABASES=sqlite,mariadb;
 * PHASE_SIZES=10000; PHASE_REQUESTS=300. Prints a Markdown table (for bench/RESULTS.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchServer, dropDatabase, recreateDatabase } from './bench-db';
import { killChildren, run, runCli, startApp, type AppProcess } from './processes';
import { firstSignIn } from './staff-session';

const DATABASES = (process.env.PHASE_DATABASES ?? 'sqlite,mariadb').split(',');
const SIZES = (process.env.PHASE_SIZES ?? '10000').split(',').map(Number);
const REQUESTS = Number(process.env.PHASE_REQUESTS ?? 300);
const PHASES = ['session', 'user', 'guard', 'count', 'list', 'invites', 'audit', 'handler', 'render', 'total'];
const PORT = 3990 + Math.floor(Math.random() * 9);

const log = (message: string) => process.stderr.write(`[phases ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
};

async function main(): Promise<void> {
  if (!process.env.BENCH_SKIP_BUILD) await run('npm', ['run', 'build']);
  const lines = [
    `| Database | Size | Page | ${PHASES.join(' | ')} | Load (1 min) |`,
    `|---|---|---|${PHASES.map(() => '---|').join('')}---|`,
  ];
  for (const kind of DATABASES)
    for (const size of SIZES) {
      for (const [name, query] of await measure(kind, size)) lines.push(`| ${kind} | ${size / 1000}k | ${name} | ${query} |`);
    }
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

async function measure(kind: string, size: number): Promise<[string, string][]> {
  const work = mkdtempSync(join(tmpdir(), 'ppo-phases-'));
  const database = `ppo_phases_${size / 1000}k`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATA_DIR: join(work, 'data'),
    DATABASE_URL: kind === 'mariadb' ? benchServer().urlFor(database) : '',
    MIGRATIONS_RUN: 'auto',
    SESSION_SECRET: 'bench-session-secret-0123456789abcdefghijklmnop',
    MFA_ENCRYPTION_KEY: 'bench-mfa-encryption-key-0123456789abcdefghij',
    COOKIE_SECURE: 'false',
    SEED_DEMO: 'false',
    MAIL_SENDER: 'false',
    SIGN_IN_ATTEMPTS_PER_MINUTE: '10000',
    SERVER_TIMING: 'true',
    PORT: String(PORT),
    PUBLIC_BASE_URL: `http://127.0.0.1:${PORT}`,
  };
  let app: AppProcess | null = null;
  try {
    if (kind === 'mariadb') await recreateDatabase(database);
    log(`${kind} ${size}: seeding`);
    await runCli('src/cli/seed-demo.ts', ['--patients', String(size), '--seed', '42'], env);
    const created = await runCli(
      'src/cli/admin-create.ts',
      ['--email', 'bench.admin@clinic.example', '--name', 'Bench Admin', '--force'],
      env,
    );
    const oneTime = /One-time password[^:]*: (\S+)/.exec(created)![1];
    app = await startApp(env, PORT);
    const session = await firstSignIn(app.baseUrl, 'bench.admin@clinic.example', oneTime);
    const tagPage = await (await fetch(`${app.baseUrl}/portal-onboarding`, { headers: { cookie: session.cookie } })).text();
    const tagId = /<option value="(\d+)"[^>]*>Diabetes</.exec(tagPage)?.[1];
    const out: [string, string][] = [];
    for (const [name, path] of [
      ['no filter', '/portal-onboarding'],
      ['tag', `/portal-onboarding?tag=${tagId}`],
    ] as const) {
      const samples = new Map<string, number[]>(PHASES.map((phase) => [phase, []]));
      for (let i = 0; i < REQUESTS + 30; i++) {
        const res = await fetch(app.baseUrl + path, { headers: { cookie: session.cookie } });
        await res.text();
        if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
        if (i < 30) continue; // warm-up
        for (const part of (res.headers.get('server-timing') ?? '').split(',')) {
          const match = /^\s*(\w+);dur=([\d.]+)/.exec(part);
          if (match) samples.get(match[1])?.push(Number(match[2]));
        }
      }
      out.push([name, [...PHASES.map((phase) => median(samples.get(phase)!).toFixed(2)), loadavg()[0].toFixed(1)].join(' | ')]);
      log(`${kind} ${size} ${name}: ${out[out.length - 1][1]}`);
    }
    return out;
  } finally {
    await app?.stop();
    if (kind === 'mariadb') await dropDatabase(database);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  killChildren();
  process.stderr.write(`phases failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
