/**
 * npm run bench:activation — the activation report's SQL at 100,000 demo patients on MariaDB
 * (issue 17: ≤ 100 ms p95 for one report, the total plus one grouping). Seeds the demo data (every
 * invited demo patient has its emailed link, opened by three in four and by every active patient;
 * the seeder rebuilds the report's summary), then times the report by provider, tag and month. Prints one RESULTS.md row per grouping and the load average
 * (other work shares the machine, at the start and the end). Creates and drops its own database.
 */
import { loadavg } from 'node:os';
import type { DataSource } from 'typeorm';
import { APP_SCHEMA } from '../src/app.schema';
import { ActivationReportRepository, type ReportGrouping } from '../src/activation/activation-report.repository';
import { ActivationReportService } from '../src/activation/activation-report.service';
import { loadConfig } from '../src/config/app-config';
import { openDatabase } from '../src/database/open-database';
import { benchServer, dropDatabase, recreateDatabase, serverVersion } from './bench-db';
import { timeLoop } from './measure';
import { runCli } from './processes';
import { ms, num } from './report';

const PATIENTS = Number(process.env.BENCH_PATIENTS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const DATABASE = 'ppo_bench_activation';
const TARGET_P95_MS = 100;

const log = (message: string) =>
  process.stderr.write(`[bench:activation ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** BENCH_REUSE=1: time the report again on the database a BENCH_KEEP=1 run left (no re-seeding). */
const REUSE = process.env.BENCH_REUSE === '1';

async function main(): Promise<void> {
  if (!REUSE) await recreateDatabase(DATABASE);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: benchServer().urlFor(DATABASE),
    SESSION_SECRET: 'bench-session-secret-0123456789abcdefghijklmnop',
    MFA_ENCRYPTION_KEY: 'bench-mfa-encryption-key-0123456789abcdefghij',
    SEED_DEMO: 'false',
  };
  try {
    if (!REUSE) {
      log(`seeding ${num(PATIENTS)} patients`);
      await runCli('src/cli/seed-demo.ts', ['--patients', String(PATIENTS), '--seed', '42'], env);
    }
    const config = loadConfig(env as Record<string, string>);
    const dataSource = await openDatabase(config, APP_SCHEMA);
    try {
      if (!REUSE) await analyze(dataSource);
      const [{ n: links }] = await dataSource.query('SELECT COUNT(*) AS n FROM portal_tokens');
      const service = new ActivationReportService(new ActivationReportRepository(dataSource));
      const rows: string[] = [];
      const loadAtStart = loadavg()[0].toFixed(1);
      for (const by of ['provider', 'tag', 'month'] as ReportGrouping[]) {
        const latency = await timeLoop(() => service.report(by), SECONDS);
        const met = latency.p95 <= TARGET_P95_MS ? 'met' : 'missed';
        rows.push(
          `| ${num(PATIENTS / 1000)}k | Activation report by ${by} (total + groups, ${num(Number(links))} links) | ${ms(latency.p50)} | ${ms(latency.p95)} | ≤ ${TARGET_P95_MS} ms p95: ${met} |`,
        );
        log(rows[rows.length - 1]);
      }
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ');
      process.stdout.write(
        `\nMariaDB ${await serverVersion()}; load average (1 min) at the start of the timing: ${loadAtStart}, (1/5/15 min) at the end: ${load}\n${rows.join('\n')}\n`,
      );
    } finally {
      await dataSource.destroy();
    }
  } finally {
    if (!process.env.BENCH_KEEP) await dropDatabase(DATABASE);
  }
}

/** The seeder gives every invited demo patient its link and email and rebuilds the summary; fresh statistics for the plans. */
async function analyze(dataSource: DataSource): Promise<void> {
  await dataSource.query(
    'ANALYZE TABLE portal_tokens, mail_outbox, portal_accounts, patients, activation_funnel, activation_funnel_tags',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
