import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { createManyPortalPatients, deliveriesByOutboxId } from '../../support/bulk-patients';
import { startServerProcess } from '../../support/server-process';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { startTestApp, testEnv, TestApp } from '../../support/test-app';

const staff: AuditContext = { actorType: 'staff', actorId: null, actorLabel: 'test', ip: null, userAgent: null };

describe('SIGTERM while the server is sending', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;

  beforeAll(async () => {
    // 15 ms per message and connection: 400 emails take about 0.6 s, so the signal lands mid-send.
    smtp = await startSmtpServer({ delayMs: 15 });
    t = await startTestApp({ SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('finishes the emails in flight, hands the rest back unattempted, exits 0 — no attempt burned, nothing lost or sent twice', async () => {
    const ids = await createManyPortalPatients(t, 400, 'term');
    const { invites } = await t.app.get(InvitationsService).sendInvites(ids, staff, { bulk: true });
    expect(invites).toBe(400);

    const server = await startServerProcess(
      testEnv(t.database, {
        SMTP_URL: smtp.url,
        PUBLIC_BASE_URL: t.config.publicBaseUrl,
        MAIL_SENDER: 'true',
        MAIL_POLL_MS: '50',
        LOG_LEVEL: 'info',
        NODE_ENV: 'development',
      }),
    );
    await smtp.waitFor(30, 60_000);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/SIGTERM received/);
    expect(server.output()).toMatch(/Stopped in \d+ ms/);
    // Development output to a pipe: short pretty lines, no colour codes, no route-mapping lines; the setup link once.
    expect(server.output()).not.toMatch(/\x1b\[/);
    expect(server.output()).not.toContain('Mapped {');
    expect(
      server
        .output()
        .split('\n')
        .filter((line) => line.includes(`${t.config.publicBaseUrl}/setup?token=`)),
    ).toHaveLength(1);

    const rows: Array<{ id: string; status: string; attempts: number }> = await t.dataSource.query(
      'SELECT id, status, attempts FROM mail_outbox',
    );
    const byStatus = (status: string) => rows.filter((row) => row.status === status);
    const sentBeforeStop = byStatus('sent').length;
    expect(sentBeforeStop).toBeGreaterThanOrEqual(30);
    expect(sentBeforeStop).toBeLessThan(400);
    // Nothing left claimed, nothing failed; sent ones used one attempt, the rest none.
    expect(byStatus('sent').length + byStatus('pending').length).toBe(400);
    expect(byStatus('sent').every((row) => Number(row.attempts) === 1)).toBe(true);
    expect(byStatus('pending').every((row) => Number(row.attempts) === 0)).toBe(true);
    expect(deliveriesByOutboxId(smtp.received).size).toBe(sentBeforeStop);

    // The next start sends the rest: every email exactly once, each on its first attempt.
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(400);
    const deliveries = deliveriesByOutboxId(smtp.received);
    expect(deliveries.size).toBe(400);
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
    const [{ maxAttempts, sent }] = await t.dataSource.query(
      "SELECT MAX(attempts) AS maxAttempts, SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS sent FROM mail_outbox",
    );
    expect({ maxAttempts: Number(maxAttempts), sent: Number(sent) }).toEqual({ maxAttempts: 1, sent: 400 });
    // The server process compiles through ts-node first: slow on a shared 2-core machine.
  }, 300_000);
});
