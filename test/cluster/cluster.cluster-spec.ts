import type { NestExpressApplication } from '@nestjs/platform-express';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApplication } from '../../src/app.setup';
import { SYSTEM_CONTEXT } from '../../src/audit/audit-context';
import { StaffUsersService } from '../../src/auth/staff-users.service';
import { loadConfig } from '../../src/config/app-config';
import { insertRows, toSqlDateTime } from '../../src/database/sql';
import { csrfTokenOf } from '../support/html';
import { STAFF_PASSWORD } from '../support/staff';
import { startServerProcess, ServerProcess } from '../support/server-process';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../support/smtp-server';
import { GaleraCluster, startGaleraCluster } from './galera';

const ROOT = join(__dirname, '..', '..');
const BULK = 1000;
const ONE_CLICK = 30;
/** Each one-click patient is clicked this many times at once, through different instances. */
const CLICKS = 3;
/** Per-connection SMTP delay and pool: sending takes long enough to kill things in the middle of it. */
const SMTP_DELAY_MS = 40;
const SMTP_POOL = 4;
// Longer than one instance needs to send what its four workers claim (4 × 200 at ~100/s here, slower under load):
// a lease that runs out while its sender is still working hands live emails to another sender (sent twice).
const LEASE_SECONDS = 40;
const PASSWORD = STAFF_PASSWORD;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ports above a random base in 20000-29000 (loopback only; never 3306). */
const BASE = 20000 + Math.floor(Math.random() * 90) * 100;
const HAPROXY_PORT = BASE + 50;
const APP_PORTS = [BASE + 51, BASE + 52, BASE + 53];

/** Everything this file started, killed even when Jest is interrupted. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

type Agent = request.Agent & { csrf: string };

/**
 * Three app instances, one per node of a 3-node MariaDB Galera cluster, behind HAProxy
 * (deploy/haproxy.cfg), all sending mail to one real SMTP server. A database node and an app
 * instance are killed (SIGKILL) while the invites go out.
 */
describe('three instances on a Galera cluster behind HAProxy', () => {
  let cluster: GaleraCluster;
  let smtp: TestSmtpServer;
  let control: NestExpressApplication;
  let db: DataSource;
  let haproxy: ChildProcess;
  /** HAProxy's request log (option httplog): which instance answered what, and how a failed request ended. */
  let haproxyLog = '';
  const instances: ServerProcess[] = [];
  const dirs: string[] = [];
  const baseUrl = `http://127.0.0.1:${HAPROXY_PORT}`;
  const dbUrl = (node: number) => `mariadb://${cluster.user}:${cluster.password}@127.0.0.1:${cluster.nodes[node].port}/ppo`;
  const env = (node: number): Record<string, string> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ppo-cluster-app-'));
    dirs.push(dataDir);
    return {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      DATABASE_URL: dbUrl(node),
      MIGRATIONS_RUN: 'skip',
      // What every instance must share.
      SESSION_SECRET: 'cluster-test-session-secret-0123456789abcdef',
      MFA_ENCRYPTION_KEY: 'cluster-test-mfa-key-0123456789abcdef0123456789',
      TRUST_PROXY_HOPS: '1',
      PUBLIC_BASE_URL: baseUrl,
      SEED_DEMO: 'false',
      SMTP_URL: smtp.url,
      SMTP_POOL_SIZE: String(SMTP_POOL),
      MAIL_SENDER: 'true',
      MAIL_POLL_MS: '200',
      MAIL_CLAIM_LEASE_SECONDS: String(LEASE_SECONDS),
      SIGN_IN_ATTEMPTS_PER_MINUTE: '10000',
    };
  };

  beforeAll(async () => {
    smtp = await startSmtpServer({ delayMs: SMTP_DELAY_MS });
    cluster = await startGaleraCluster(BASE);
    for (const node of cluster.nodes) if (node.process) children.add(node.process);
    const admin = await cluster.connect(cluster.nodes[0]);
    await admin.query('CREATE DATABASE ppo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    await admin.end();
  }, 150_000);

  afterAll(async () => {
    if (process.env.CLUSTER_HAPROXY_LOG) writeFileSync(process.env.CLUSTER_HAPROXY_LOG, haproxyLog);
    for (const instance of instances) instance.child.kill('SIGKILL');
    haproxy?.kill('SIGKILL');
    await control?.close().catch(() => undefined);
    await cluster?.stop();
    await smtp?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('an instance refuses to start on a schema that is behind; migrations run once, as a step', async () => {
    const refused = await startServerProcess({ ...env(0), PORT: String(APP_PORTS[0]) }).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(refused).toMatch(
      /Configuration error: MIGRATIONS_RUN is skip and the database schema is behind this version \(\d+ pending: InitialSchema1764144000000, .*\); run `npm run migration:run` first/,
    );

    const migrated = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        join(ROOT, 'node_modules/.bin/typeorm-ts-node-commonjs'),
        ['migration:run', '-d', 'src/data-source.ts'],
        { cwd: ROOT, env: { ...process.env, DATABASE_URL: dbUrl(0) }, timeout: 90_000 },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, out: stdout + stderr }),
      ),
    );
    expect(migrated).toMatchObject({ code: 0 });
  }, 120_000);

  it('starts three instances (one per node) and HAProxy, which spreads requests over all three', async () => {
    control = await createApplication(loadConfig({ ...env(0), MAIL_SENDER: 'false' }), { logger: false });
    db = control.get(DataSource);
    instances.push(
      ...(await Promise.all([0, 1, 2].map((node) => startServerProcess({ ...env(node), PORT: String(APP_PORTS[node]) })))),
    );
    for (const instance of instances) children.add(instance.child);
    haproxy = spawn('haproxy', ['-f', join(ROOT, 'deploy/haproxy.cfg'), '-db'], {
      env: {
        ...process.env,
        PPO_LISTEN: `127.0.0.1:${HAPROXY_PORT}`,
        PPO_APP1: `127.0.0.1:${APP_PORTS[0]}`,
        PPO_APP2: `127.0.0.1:${APP_PORTS[1]}`,
        PPO_APP3: `127.0.0.1:${APP_PORTS[2]}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    haproxy.stdout!.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    haproxy.stderr!.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    children.add(haproxy);
    // Until all three passed their /readyz checks (rise 2 × 1 s).
    await expectServedBy(['app1', 'app2', 'app3'], 20_000);
  }, 120_000);

  let agent: Agent;
  let tagId: number;
  let oneClickIds: number[];

  it('signs staff in through HAProxy; the session holds on every instance', async () => {
    const email = 'cluster.staff@clinic.test';
    const users = control.get(StaffUsersService);
    const { user, temporaryPassword } = await users.create({ email, name: 'Cluster Staff', role: 'staff' }, SYSTEM_CONTEXT);
    await users.changeOwnPassword(user.id, temporaryPassword, PASSWORD, SYSTEM_CONTEXT);

    agent = request.agent(baseUrl) as Agent;
    // The form comes from one instance and is posted to the next: its CSRF token is read from the shared session.
    const page = await agent.get('/login').expect(200);
    const signedIn = await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), email, password: PASSWORD });
    expect(signedIn.status).toBe(303);
    const servedBy = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await agent.get('/portal-onboarding').expect(200);
      expect(res.text).toContain('Pt Portal Onboarding Tool');
      servedBy.add(String(res.headers['x-served-by']));
      agent.csrf = csrfTokenOf(res.text);
    }
    expect([...servedBy].sort()).toEqual(['app1', 'app2', 'app3']);

    await seedPatients();
  }, 60_000);

  const htmxPost = (path: string, body: string) =>
    agent.post(path).set('HX-Request', 'true').set('X-CSRF-Token', agent.csrf).type('form').send(body);

  let promised = 0;
  let receivedAtKill = 0;

  it('bulk-enables and bulk-invites 1,000 patients, clicks the same patients at once through different instances, and survives a dead node and a dead instance mid-send', async () => {
    const enabled = await htmxPost('/portal-onboarding/bulk/enable', `scope=filter&tag=${tagId}`).expect(200);
    expect(enabled.text).toContain(`Portal access enabled for ${BULK} patients.`);
    const invited = await htmxPost('/portal-onboarding/bulk/invite', `scope=filter&tag=${tagId}`).expect(200);
    expect(invited.text).toMatch(/hx-get="\/portal-onboarding\/bulk\/batches\/[0-9a-f-]{36}"/);

    // While the invites go out: every one-click patient enabled, then invited, by CLICKS requests at once.
    const statuses: number[] = [];
    const failures: string[] = [];
    const servedBy = new Set<string>();
    for (const action of ['enable', 'invite']) {
      const responses = await Promise.all(
        oneClickIds.flatMap((id) =>
          Array.from({ length: CLICKS }, () => htmxPost(`/portal-onboarding/patients/${id}/${action}`, '')),
        ),
      );
      for (const res of responses) {
        statuses.push(res.status);
        servedBy.add(String(res.headers['x-served-by']));
        if (res.status !== 200)
          failures.push(`${action} ${res.status} from ${res.headers['x-served-by']}: ${res.text.slice(0, 300)}`);
      }
    }
    // What the instances said, to explain a failure.
    if (failures.length) {
      failures.push(
        ...instances.map(
          (instance, i) =>
            `app${i + 1} (exit ${instance.child.exitCode ?? instance.child.signalCode}): ${instance.output().slice(-1500)}`,
        ),
      );
      failures.push(
        haproxyLog
          .split('\n')
          .filter((line) => !/ 200 /.test(line))
          .slice(-40)
          .join('\n'),
      );
    }
    expect(failures).toEqual([]);
    expect(servedBy.size).toBe(3);
    promised = BULK + ONE_CLICK;

    await waitUntil(() => smtp.received.length >= promised * 0.3, 60_000, 'a third of the emails sent');
    receivedAtKill = smtp.received.length;
    cluster.nodes[1].kill();
    instances[2].child.kill('SIGKILL');
    // Sending was still under way: the kills hit emails in flight.
    expect(receivedAtKill).toBeLessThan(promised);

    // HAProxy notices within its check interval (fall 2 × 1 s: requests in that window may fail, the
    // README's failure modes); then only app1 answers, for the same session.
    await sleep(2500);
    await expectServedBy(['app1'], 15_000);
    for (let i = 0; i < 20; i++) {
      const res = await agent.get('/portal-onboarding').expect(200);
      expect(res.headers['x-served-by']).toBe('app1');
      expect(res.text).toContain('Pt Portal Onboarding Tool');
    }
  }, 150_000);

  it('delivers every promised email, and records every action once', async () => {
    // The survivor takes over the dead senders' claims when their lease runs out.
    await waitUntil(
      async () => Number((await db.query("SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'sent'"))[0].n) === promised,
      90_000,
      'every outbox row sent',
    );
    await sleep(500);
    const outbox: Array<{ status: string; n: number | string }> = await db.query(
      'SELECT status, COUNT(*) AS n FROM mail_outbox GROUP BY status',
    );
    expect(outbox.map((row) => [row.status, Number(row.n)])).toEqual([['sent', promised]]);

    // Counted by link at the SMTP server: each promised link arrived, each with one Message-ID.
    const byLink = new Map<string, Set<string>>();
    const deliveries = new Map<string, number>();
    for (const mail of smtp.received) {
      const { url } = await linkFrom(smtp, mail, baseUrl);
      byLink.set(url, (byLink.get(url) ?? new Set()).add(mail.messageId));
      deliveries.set(url, (deliveries.get(url) ?? 0) + 1);
    }
    expect(byLink.size).toBe(promised);
    expect([...byLink.values()].every((ids) => ids.size === 1)).toBe(true);
    // A killed sender's emails already handed to SMTP but not yet marked sent go out again (the
    // documented crash window, at most the in-flight sends plus two unflushed groups of 50 per killed sender):
    // they carry the same Message-ID, so the receiving side can drop them. All others arrived exactly once.
    const twice = [...deliveries.values()].filter((count) => count > 1);
    expect(twice.every((count) => count === 2)).toBe(true);
    expect(twice.length).toBeLessThanOrEqual(2 * (2 * SMTP_POOL + 100));

    const count = async (where: string, params: unknown[] = []) =>
      Number((await db.query(`SELECT COUNT(*) AS n FROM audit_events WHERE ${where}`, params))[0].n);
    const oneClick = `patient_id IN (${oneClickIds.join(',')})`;
    // One 'mail.sent' row per outbox row, never two (the crash window's resends replace a mark that never committed).
    expect(await count("action = 'mail.sent'")).toBe(promised);
    const [{ n: distinctSent }] = await db.query(
      "SELECT COUNT(DISTINCT patient_id) AS n FROM audit_events WHERE action = 'mail.sent'",
    );
    expect(Number(distinctSent)).toBe(promised);
    // Bulk: one row per patient per action, sharing the action's batch id.
    expect(await count(`action = 'portal.access_enabled' AND batch_id IS NOT NULL`)).toBe(BULK);
    expect(await count(`action = 'portal.invite_issued' AND batch_id IS NOT NULL`)).toBe(BULK);
    // One-click: the enable happened once per patient (the other clicks found it done); every invite
    // click has its row, and exactly one per patient queued the email (the others were repeats).
    expect(await count(`action = 'portal.access_enabled' AND ${oneClick}`)).toBe(ONE_CLICK);
    expect(await count(`action = 'portal.invite_issued' AND ${oneClick}`)).toBe(ONE_CLICK * CLICKS);
    expect(await count(`action = 'portal.invite_issued' AND ${oneClick} AND details LIKE ?`, ['%"emailQueued":true%'])).toBe(
      ONE_CLICK,
    );
    const [{ n: oneClickEmails }] = await db.query(`SELECT COUNT(*) AS n FROM mail_outbox WHERE ${oneClick}`);
    expect(Number(oneClickEmails)).toBe(ONE_CLICK);
  }, 150_000);

  /** 1,000 patients with access off, tagged for the bulk filter, and ONE_CLICK more for the one-click buttons. */
  async function seedPatients(): Promise<void> {
    const now = toSqlDateTime(new Date());
    await db.query('INSERT INTO tags (name, created_at) VALUES (?, ?)', ['Cluster', now]);
    [{ id: tagId }] = await db.query("SELECT id FROM tags WHERE name = 'Cluster'");
    const ids = Array.from({ length: BULK + ONE_CLICK }, (_, i) => 100_001 + i);
    oneClickIds = ids.slice(BULK);
    await db.transaction(async (tx) => {
      await insertRows(
        tx,
        'patients',
        ['id', 'first_name', 'last_name', 'date_of_birth', 'email', 'version', 'created_at', 'updated_at'],
        ids.map((id) => [id, `First${id}`, `Last${id}`, '1975-06-01', `p${id}@example.test`, 1, now, now]),
      );
      await insertRows(
        tx,
        'portal_accounts',
        ['patient_id', 'access_enabled', 'version', 'updated_at'],
        ids.map((id) => [id, 0, 1, now]),
      );
      await insertRows(
        tx,
        'patient_tags',
        ['patient_id', 'tag_id'],
        ids.slice(0, BULK).map((id) => [id, tagId]),
      );
    });
  }

  /** Waits until anonymous requests through HAProxy come from exactly these instances (round-robin: a few in a row). */
  async function expectServedBy(names: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = [];
      for (let i = 0; i < names.length * 3 + 6; i++) {
        const res = await request(baseUrl)
          .get('/healthz')
          .catch(() => null);
        seen.push(res?.status === 200 ? String(res.headers['x-served-by']) : `status ${res?.status ?? 'none'}`);
      }
      if ([...new Set(seen)].sort().join() === [...names].sort().join()) return;
      await sleep(500);
    }
    throw new Error(`HAProxy served by ${[...new Set(seen)].join(', ')}, expected ${names.join(', ')}`);
  }
});

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}
