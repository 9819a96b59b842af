/**
 * npm run bench:concurrency — many staff at once (issue 23), MariaDB: the first onboarding page
 * (no filter; a tag filter) at 1, 8 and 16 concurrent connections (autocannon), the same page's
 * raw SQL at the same concurrency in the same run (count + the page's ids + its 50 rows, count
 * and ids in parallel on a pool), and a mixed load (pages beside one-click enables). One app
 * process, then WEB_CONCURRENCY=2 (both cores). Targets at 16 connections: p95 ≤ 60 ms and
 * pages/s ≥ half of raw. BENCH_SIZE (100000), BENCH_SECONDS (5).
 * Prints a Markdown table and the machine's load (the machine may be shared).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { createPool } from 'mysql2/promise';
import { benchServer, dropDatabase, mariadbBenchDb, recreateDatabase } from './bench-db';
import { httpLoad, percentiles } from './measure';
import { calibrate, pageUrl, PAGE_SIZE, type RawPlan } from './page-cases';
import { killChildren, run, runCli, startApp, type AppProcess } from './processes';
import { childrenOf, procStat } from '../test/support/proc';
import { firstSignIn, type StaffSession } from './staff-session';

const SIZE = Number(process.env.BENCH_SIZE ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = [1, 8, 16];
const TARGET = { p95At16: 60, shareOfRaw: 0.5 };
const PORT = 3800 + Math.floor(Math.random() * 90);
const log = (message: string) => process.stderr.write(`[concurrency ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** CPU seconds used so far by a process and its children (workers): utime + stime from /proc. */
function cpuSeconds(pid: number): number {
  const ticks = (p: number) => {
    const fields = procStat(p);
    return fields ? Number(fields[11]) + Number(fields[12]) : 0;
  };
  return [pid, ...childrenOf(pid)].reduce((sum, p) => sum + ticks(p), 0) / 100;
}

/** The raw page at `connections` concurrent loops for SECONDS: pages/s and latency. */
async function rawLoad(database: string, plan: RawPlan, connections: number) {
  const pool: Pool = createPool({ ...benchServer().connection, database, connectionLimit: connections * 2, dateStrings: true });
  const rowsSql = (ids: number[]) =>
    `SELECT p.id, p.first_name, p.last_name, p.date_of_birth, p.email, p.external_id, pa.access_enabled, pa.username, pa.invited_at, pa.first_login_at, pr.name
       FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id LEFT JOIN providers pr ON pr.id = p.primary_provider_id
      WHERE p.id IN (${ids.map(() => '?').join(',')})`;
  const page = async () => {
    await Promise.all([
      pool.query(plan.count.sql, plan.count.params),
      pool.query(plan.ids.sql, plan.ids.params).then(async ([keys]) => {
        const ids = (keys as { id: number }[]).slice(0, PAGE_SIZE).map((k) => Number(k.id));
        if (ids.length) await pool.query(rowsSql(ids), ids);
      }),
    ]);
  };
  const samples: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      await page();
      samples.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  await pool.end();
  return { ...percentiles(samples), rps: samples.length / SECONDS };
}

interface Row {
  workers: number;
  page: string;
  connections: number | string;
  app: { rps: number; p50: number; p95: number; p99: number };
  cpu: number;
  raw: { rps: number; p50: number; p95: number } | null;
  load: number;
}

async function measureApp(
  app: AppProcess,
  session: StaffSession,
  url: string,
  connections: number,
): Promise<{ rps: number; p50: number; p95: number; p99: number; cpu: number }> {
  await httpLoad({ url, headers: { cookie: session.cookie }, connections, duration: 1 });
  const cpu0 = cpuSeconds(app.pid);
  const result = await httpLoad({ url, headers: { cookie: session.cookie }, connections, duration: SECONDS });
  return { ...result, cpu: (cpuSeconds(app.pid) - cpu0) / SECONDS };
}

async function main(): Promise<void> {
  if (!process.env.BENCH_SKIP_BUILD) await run('npm', ['run', 'build']);
  const database = `ppo_conc_${SIZE / 1000}k`;
  const work = mkdtempSync(join(tmpdir(), 'ppo-conc-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: benchServer().urlFor(database),
    MIGRATIONS_RUN: 'auto',
    DATA_DIR: join(work, 'data'),
    SESSION_SECRET: 'bench-session-secret-0123456789abcdefghijklmnop',
    MFA_ENCRYPTION_KEY: 'bench-mfa-encryption-key-0123456789abcdefghij',
    COOKIE_SECURE: 'false',
    SEED_DEMO: 'false',
    MAIL_SENDER: 'false',
    SIGN_IN_ATTEMPTS_PER_MINUTE: '100000',
    PORT: String(PORT),
    PUBLIC_BASE_URL: `http://127.0.0.1:${PORT}`,
  };
  const rows: Row[] = [];
  const pool = mariadbBenchDb(database);
  try {
    await recreateDatabase(database);
    log(`seeding ${SIZE}`);
    await runCli('src/cli/seed-demo.ts', ['--patients', String(SIZE), '--seed', '42'], env);
    await pool.query('ANALYZE TABLE patients, portal_accounts, patient_tags, appointments');
    const [[tag]] = (await pool.query("SELECT id FROM tags WHERE name = 'Diabetes'")) as [{ id: number }[], unknown];
    const cases = [
      { name: 'no filter', filter: {} },
      { name: 'tag', filter: { tagId: Number(tag.id) } },
    ];
    const plans = new Map<string, RawPlan>();
    for (const c of cases) plans.set(c.name, await calibrate(pool, c.filter, null));
    for (const workers of (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number)) {
      const created = await runCli(
        'src/cli/admin-create.ts',
        ['--email', `bench${workers}@clinic.example`, '--name', 'Bench Admin', '--force'],
        env,
      );
      const app = await startApp({ ...env, WEB_CONCURRENCY: String(workers) }, PORT);
      try {
        const session = await firstSignIn(
          app.baseUrl,
          `bench${workers}@clinic.example`,
          /One-time password[^:]*: (\S+)/.exec(created)![1],
        );
        for (const c of cases) {
          const url = pageUrl(app.baseUrl, c.filter, null);
          for (const connections of CONNECTIONS) {
            const result = await measureApp(app, session, url, connections);
            const raw = workers === 1 ? await rawLoad(database, plans.get(c.name)!, connections) : null;
            rows.push({ workers, page: c.name, connections, app: result, cpu: result.cpu, raw, load: loadavg()[0] });
            log(
              `${workers}w ${c.name} ${connections}c: ${result.rps.toFixed(0)}/s p95 ${result.p95.toFixed(1)}; raw ${raw?.rps.toFixed(0) ?? '-'}/s`,
            );
          }
        }
        // Mixed: 12 connections of pages beside 4 of one-click enables (distinct red patients).
        const [reds] = (await pool.query(
          'SELECT patient_id AS id FROM portal_accounts WHERE access_enabled = 0 ORDER BY patient_id DESC LIMIT 20000',
        )) as [{ id: number }[], unknown];
        let next = 0;
        const ids = reds.map((r) => Number(r.id));
        const cpu0 = cpuSeconds(app.pid);
        const [pages, enables] = await Promise.all([
          httpLoad({
            url: pageUrl(app.baseUrl, {}, null),
            headers: { cookie: session.cookie },
            connections: 12,
            duration: SECONDS,
          }),
          httpLoad({
            url: `${app.baseUrl}/portal-onboarding/patients/${ids[0]}/enable`,
            method: 'POST',
            headers: { cookie: session.cookie, 'hx-request': 'true', 'x-csrf-token': session.csrf },
            connections: 4,
            duration: SECONDS,
            setupRequest: (request) => ({ ...request, path: `/portal-onboarding/patients/${ids[next++ % ids.length]}/enable` }),
          }),
        ]);
        const cpu = (cpuSeconds(app.pid) - cpu0) / SECONDS;
        rows.push({
          workers,
          page: `mixed: pages (12 conn.) + enables (4 conn., ${enables.rps.toFixed(0)}/s, p95 ${enables.p95.toFixed(1)} ms)`,
          connections: 16,
          app: pages,
          cpu,
          raw: null,
          load: loadavg()[0],
        });
        await pool.query('UPDATE portal_accounts SET access_enabled = 0 WHERE patient_id IN (?)', [ids]);
      } finally {
        await app.stop();
      }
    }
  } finally {
    await pool.end();
    await dropDatabase(database);
    rmSync(work, { recursive: true, force: true });
  }
  const fmt = (n: number) => n.toFixed(1);
  const lines = [
    `| Workers | Page (${SIZE / 1000}k, MariaDB) | Conn. | App pages/s | p50 | p95 | p99 | App CPU (cores) | Raw pages/s | Raw p95 | App/raw | Target (16 conn.) | Met | Load |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const raw = r.raw ?? rows.find((o) => o.raw && o.page === r.page && o.connections === r.connections)?.raw ?? null;
      const share = raw ? r.app.rps / raw.rps : null;
      const at16 = r.connections === 16 && !r.page.startsWith('mixed');
      const met = at16 ? r.app.p95 <= TARGET.p95At16 && share !== null && share >= TARGET.shareOfRaw : null;
      return `| ${r.workers} | ${r.page} | ${r.connections} | ${r.app.rps.toFixed(0)} | ${fmt(r.app.p50)} ms | ${fmt(r.app.p95)} ms | ${fmt(r.app.p99)} ms | ${r.cpu.toFixed(2)} | ${raw ? raw.rps.toFixed(0) : ''} | ${raw ? `${fmt(raw.p95)} ms` : ''} | ${share !== null ? `${(share * 100).toFixed(0)} %` : ''} | ${at16 ? `p95 ≤ ${TARGET.p95At16} ms, ≥ ${TARGET.shareOfRaw * 100} % of raw` : ''} | ${met === null ? '' : met ? 'yes' : '**NO**'} | ${r.load.toFixed(1)} |`;
    }),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  killChildren();
  process.stderr.write(`concurrency bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
