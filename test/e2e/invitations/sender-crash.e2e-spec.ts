import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { createManyPortalPatients, deliveriesByOutboxId } from '../../support/bulk-patients';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { testDatabaseKind } from '../../support/test-database';
import { startTestApp, testEnv, TestApp } from '../../support/test-app';

const staff: AuditContext = { actorType: 'staff', actorId: null, actorLabel: 'test', ip: null, userAgent: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * The documented crash window (MailSenderService): emails the SMTP server accepted whose
 * 'sent' mark had not committed — the in-flight messages (SMTP_POOL_SIZE) plus the group
 * of 50 being written and the one filling.
 */
const CRASH_WINDOW = 10 + 2 * 50;

/** Starts the app with its sender in a separate process; resolves once it is running. */
function startSenderProcess(t: TestApp, env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(join(__dirname, '../../support/sender-process.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, ...testEnv(t.database, { ...env, MAIL_SENDER: 'true' }) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`sender process exited with ${code}`)));
  });
}

async function statusCounts(t: TestApp): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number }> = await t.dataSource.query(
    'SELECT status, COUNT(*) AS n FROM mail_outbox GROUP BY status',
  );
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

describe('the outbox sender across crashes and parallel instances', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  const senderEnv = () => ({ SMTP_URL: smtp.url, MAIL_CLAIM_LEASE_SECONDS: '2', MAIL_POLL_MS: '50' });

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, MAIL_CLAIM_LEASE_SECONDS: '2' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });
  beforeEach(async () => {
    smtp.received.length = 0;
    await t.dataSource.query('DELETE FROM mail_outbox');
  });

  it('sends every email of a 1,000-email batch when the sender is killed midway and started again, none twice beyond the crash window', async () => {
    const ids = await createManyPortalPatients(t, 1000, 'crash');
    const summary = await t.app.get(InvitationsService).sendInvites(ids, staff, { bulk: true });
    expect(summary.invites).toBe(1000);

    const child = await startSenderProcess(t, senderEnv());
    await smtp.waitFor(250, 60_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const afterCrash = await statusCounts(t);
    expect(afterCrash.sent ?? 0).toBeLessThan(1000);

    // "Restart": this process's sender takes over the rows the dead one had claimed once their lease runs out.
    const sender = t.app.get(MailSenderService);
    for (let round = 0; round < 40 && (await statusCounts(t)).sent !== 1000; round++) {
      await sender.drainOnce();
      await sleep(250);
    }
    expect(await statusCounts(t)).toEqual({ sent: 1000 });

    const deliveries = deliveriesByOutboxId(smtp.received);
    expect(deliveries.size).toBe(1000);
    const duplicates = [...deliveries.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThanOrEqual(CRASH_WINDOW);
    expect(Math.max(...deliveries.values())).toBeLessThanOrEqual(2);
    const [{ n }] = await t.dataSource.query(
      "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'mail.sent' AND batch_id = ?",
      [summary.batchId],
    );
    expect(Number(n)).toBe(1000);
  }, 180_000);

  const mysqlOnly = testDatabaseKind() === 'mysql' ? it : it.skip;
  mysqlOnly(
    'two app instances draining at once on MySQL/MariaDB send each email exactly once (skipped on SQLite: it runs a single sender)',
    async () => {
      const second = await startTestApp({ SMTP_URL: smtp.url }, t.database);
      try {
        const ids = await createManyPortalPatients(t, 1000, 'pair');
        await t.app.get(InvitationsService).sendInvites(ids, staff, { bulk: true });
        const [a, b] = await Promise.all([
          t.app.get(MailSenderService).drainOnce(),
          second.app.get(MailSenderService).drainOnce(),
        ]);
        expect(a.sent + b.sent).toBe(1000);
        expect(a.sent).toBeGreaterThan(0);
        expect(b.sent).toBeGreaterThan(0);
        await smtp.waitFor(1000);
        await sleep(200);
        const deliveries = deliveriesByOutboxId(smtp.received);
        expect(deliveries.size).toBe(1000);
        expect([...deliveries.values()].every((count) => count === 1)).toBe(true);
        expect(await statusCounts(t)).toEqual({ sent: 1000 });
      } finally {
        await second.app.close();
      }
    },
  );
});
