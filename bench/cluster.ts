import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGaleraCluster, type GaleraCluster } from '../test/cluster/galera';
import { httpLoad } from './measure';
import { killChildren, ROOT, run, runCli, sleep, startApp, track, type AppProcess } from './processes';
import { createCertificate, startSmtpSink, type SmtpSink } from './smtp-sink';
import { firstSignIn, type StaffSession } from './staff-session';

/**
 * `npm run bench:cluster`: 1 vs 3 app instances behind HAProxy (deploy/haproxy.cfg) on a 3-node
 * Galera cluster on loopback. Rows: onboarding pages per second with 16 concurrent staff requests,
 * and invites delivered per second (bulk invite of one tag's patients, until the SMTP sink has them all).
 * Writes its section of bench/RESULTS.md between the cluster markers.
 */
const PATIENTS = Number(process.env.BENCH_CLUSTER_PATIENTS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BASE = 30000 + Math.floor(Math.random() * 50) * 100;
const HAPROXY_PORT = BASE + 50;
const APP_PORTS = [BASE + 51, BASE + 52, BASE + 53];
const log = (message: string) => process.stderr.write(`[bench:cluster ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

interface Row {
  instances: number;
  pagesPerSecond: number;
  p95: number;
  invites: number;
  invitesPerSecond: number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ppo-bench-cluster-'));
  const tls = await createCertificate(work);
  if (!process.env.BENCH_SKIP_BUILD) {
    log('building the app (npm run build)');
    await run('npm', ['run', 'build']);
  }
  let cluster: GaleraCluster | null = null;
  let sink: SmtpSink | null = null;
  let haproxy: ChildProcess | null = null;
  const apps: AppProcess[] = [];
  try {
    sink = await startSmtpSink(tls);
    log('starting a 3-node Galera cluster');
    cluster = await startGaleraCluster(BASE);
    for (const node of cluster.nodes) if (node.process) track(node.process);
    const admin = await cluster.connect(cluster.nodes[0]);
    await admin.query('CREATE DATABASE ppo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    await admin.end();
    const c = cluster;
    const env = (node: number): NodeJS.ProcessEnv => ({
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: `mariadb://${c.user}:${c.password}@127.0.0.1:${c.nodes[node].port}/ppo`,
      DATA_DIR: join(work, `data${node}`),
      SESSION_SECRET: 'bench-session-secret-0123456789abcdefghijklmnop',
      MFA_ENCRYPTION_KEY: 'bench-mfa-encryption-key-0123456789abcdefghij',
      COOKIE_SECURE: 'false',
      SEED_DEMO: 'false',
      TRUST_PROXY_HOPS: '1',
      SIGN_IN_ATTEMPTS_PER_MINUTE: '10000',
      SMTP_URL: sink!.url,
      NODE_EXTRA_CA_CERTS: tls.cert,
      PORT: String(APP_PORTS[node]),
      PUBLIC_BASE_URL: `http://127.0.0.1:${HAPROXY_PORT}`,
    });
    log(`migrating once (npm run migration:run), seeding ${PATIENTS} patients`);
    await run(join(ROOT, 'node_modules/.bin/typeorm'), ['migration:run', '-d', 'dist/src/data-source.js'], env(0));
    await runCli('src/cli/seed-demo.ts', ['--patients', String(PATIENTS), '--seed', '42'], env(0));
    const created = await runCli(
      'src/cli/admin-create.ts',
      ['--email', 'bench.admin@clinic.example', '--name', 'Bench Admin', '--force'],
      env(0),
    );
    const oneTime = /One-time password[^:]*: (\S+)/.exec(created)![1];
    const conn = await cluster.connect(cluster.nodes[0], 'ppo');
    const [[tag]] = (await conn.query("SELECT id FROM tags WHERE name = 'Diabetes'")) as unknown as [[{ id: number }]];
    await conn.end();

    apps.push(...(await Promise.all([0, 1, 2].map((node) => startApp(env(node), APP_PORTS[node])))));
    haproxy = spawn('haproxy', ['-f', join(ROOT, 'deploy/haproxy.cfg'), '-db'], {
      env: {
        ...process.env,
        PPO_LISTEN: `127.0.0.1:${HAPROXY_PORT}`,
        PPO_APP1: `127.0.0.1:${APP_PORTS[0]}`,
        PPO_APP2: `127.0.0.1:${APP_PORTS[1]}`,
        PPO_APP3: `127.0.0.1:${APP_PORTS[2]}`,
      },
      stdio: 'ignore',
    });
    track(haproxy);
    await sleep(3000);
    const baseUrl = `http://127.0.0.1:${HAPROXY_PORT}`;
    const session = await firstSignIn(baseUrl, 'bench.admin@clinic.example', oneTime);

    const rows: Row[] = [];
    rows.push(await measure(3, baseUrl, session, Number(tag.id), sink));
    log('stopping instances 2 and 3');
    await apps[1].stop();
    await apps[2].stop();
    await sleep(3000);
    // The repeat window (a second invite within 10 s sends nothing) has passed: the same patients get new emails.
    await sleep(8000);
    rows.push(await measure(1, baseUrl, session, Number(tag.id), sink));
    writeSection(rows);
  } finally {
    haproxy?.kill('SIGKILL');
    for (const app of apps) await app.stop().catch(() => undefined);
    await sink?.close();
    await cluster?.stop();
    killChildren();
    rmSync(work, { recursive: true, force: true });
  }
}

async function measure(instances: number, baseUrl: string, session: StaffSession, tagId: number, sink: SmtpSink): Promise<Row> {
  log(`${instances} instance(s): warm-up, then pages with 16 connections for ${SECONDS} s`);
  // Every instance's JIT and pools warm first (the 3-instance row would otherwise pay for three cold starts).
  await httpLoad({ url: `${baseUrl}/portal-onboarding`, headers: { cookie: session.cookie }, connections: 16, duration: 3 });
  const pages = await httpLoad({
    url: `${baseUrl}/portal-onboarding`,
    headers: { cookie: session.cookie },
    connections: 16,
    duration: SECONDS,
  });
  log(`${instances} instance(s): ${Math.round(pages.rps)} pages/s; bulk invite of tag ${tagId}`);
  await sink.reset();
  const started = Date.now();
  const res = await fetch(`${baseUrl}/portal-onboarding/bulk/invite`, {
    method: 'POST',
    headers: {
      cookie: session.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      'HX-Request': 'true',
      'X-CSRF-Token': session.csrf,
    },
    body: `scope=filter&tag=${tagId}`,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`bulk invite answered ${res.status}: ${text.slice(0, 300)}`);
  const invites = Number(/of (\d[\d,]*) sent/.exec(text)?.[1].replace(/,/g, '') ?? NaN);
  const arrival = await sink.waitFor(invites, 180_000);
  const seconds = (arrival.last - started) / 1000;
  return { instances, pagesPerSecond: pages.rps, p95: pages.p95, invites, invitesPerSecond: invites / seconds };
}

function writeSection(rows: Row[]): void {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  const START = '<!-- cluster-bench -->';
  const END = '<!-- /cluster-bench -->';
  const section = [
    START,
    '## Scale-out: 1 vs 3 instances on a 3-node Galera cluster (`npm run bench:cluster`)',
    '',
    `HAProxy (deploy/haproxy.cfg) in front; ${PATIENTS.toLocaleString('en-US')} demo patients; all three Galera nodes, the instances, HAProxy, the SMTP sink and autocannon on the same ${cpus().length}-core machine, so a scale-out gain here is bounded by the cores, not by the design. ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average ${loadavg()[0].toFixed(1)} at the end.`,
    '',
    '| Instances | Onboarding pages/s (16 concurrent) | Page p95 | Invites (bulk, one tag) | Invites delivered/s |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.instances} | ${Math.round(r.pagesPerSecond)} | ${r.p95.toFixed(1)} ms | ${r.invites.toLocaleString('en-US')} | ${Math.round(r.invitesPerSecond)} |`,
    ),
    END,
  ].join('\n');
  let text = readFileSync(file, 'utf8');
  text = text.includes(START)
    ? text.slice(0, text.indexOf(START)) + section + text.slice(text.indexOf(END) + END.length)
    : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, text);
  process.stdout.write(`${section}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  killChildren();
  process.exit(1);
});
