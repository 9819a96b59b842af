import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { createManyPortalPatients, deliveriesByOutboxId } from '../../support/bulk-patients';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { startTestApp, TestApp } from '../../support/test-app';

const staff: AuditContext = { actorType: 'staff', actorId: null, actorLabel: 'test', ip: null, userAgent: null };
const EMAILS = 40;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The outside review's duplicates without any crash: a relay slower than the senders' claims.
 * Each sender here has 2 SMTP connections to a relay that takes 500 ms per message, so 40
 * emails take ~5 s with two senders — longer than the 3 s lease. A sender used to claim every
 * due row at once under one unrenewed lease; the rows still waiting passed their lease and the
 * other sender claimed and sent them again.
 */
describe('two senders and a slow relay', () => {
  let smtp: TestSmtpServer;
  let a: TestApp;
  let b: TestApp;
  const env = () => ({
    SMTP_URL: smtp.url,
    SMTP_POOL_SIZE: '2',
    MAIL_CLAIM_LEASE_SECONDS: '3',
    MAIL_RETRY_BASE_MS: '100',
    MAIL_SENDER: 'true',
    MAIL_POLL_MS: '50',
  });

  beforeAll(async () => {
    smtp = await startSmtpServer({ delayMs: 500 });
    a = await startTestApp(env());
    b = await startTestApp(env(), a.database);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await smtp.close();
  });

  it('delivers every email exactly once, marked sent once, within bounded time', async () => {
    const ids = await createManyPortalPatients(a, EMAILS, 'slow');
    const summary = await a.app.get(InvitationsService).sendInvites(ids, staff, { bulk: true });
    expect(summary.invites).toBe(EMAILS);

    // Both instances' senders poll all along, as in production.
    const started = Date.now();
    for (;;) {
      const [{ n }] = await a.dataSource.query("SELECT COUNT(*) AS n FROM mail_outbox WHERE status <> 'sent'");
      if (Number(n) === 0) break;
      if (Date.now() - started > 40_000) throw new Error(`${n} emails still unsent`);
      await sleep(100);
    }
    // Anything a sender still had queued would arrive now.
    await sleep(1500);

    const deliveries = deliveriesByOutboxId(smtp.received);
    expect(deliveries.size).toBe(EMAILS);
    expect([...deliveries.values()].filter((count) => count > 1)).toEqual([]);
    expect(smtp.received).toHaveLength(EMAILS);
    const rows: Array<{ status: string; n: number }> = await a.dataSource.query(
      'SELECT status, COUNT(*) AS n FROM mail_outbox GROUP BY status',
    );
    expect(Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]))).toEqual({ sent: EMAILS });
    const [{ n }] = await a.dataSource.query(
      "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'mail.sent' AND batch_id = ?",
      [summary.batchId],
    );
    expect(Number(n)).toBe(EMAILS);
  }, 60_000);
});
