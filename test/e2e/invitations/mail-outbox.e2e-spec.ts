import { simpleParser } from 'mailparser';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { createManyPortalPatients, deliveriesByOutboxId } from '../../support/bulk-patients';
import { createPortalPatient } from '../../support/portal-patients';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { startTestApp, TestApp } from '../../support/test-app';

const staff: AuditContext = { actorType: 'staff', actorId: null, actorLabel: 'test', ip: null, userAgent: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function outboxStatuses(t: TestApp): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number }> = await t.dataSource.query(
    'SELECT status, COUNT(*) AS n FROM mail_outbox GROUP BY status',
  );
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

describe('the mail outbox with a real SMTP server', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let invitations: InvitationsService;
  let sender: MailSenderService;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '50', MAIL_MAX_ATTEMPTS: '30' });
    invitations = t.app.get(InvitationsService);
    sender = t.app.get(MailSenderService);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });
  beforeEach(async () => {
    smtp.accept();
    smtp.received.length = 0;
    await t.dataSource.query('DELETE FROM mail_outbox');
  });

  it('keeps every email through an SMTP outage (4xx) and sends each exactly once after it', async () => {
    const ids = await createManyPortalPatients(t, 40, 'outage');
    const summary = await invitations.sendInvites(ids, staff, { bulk: true });
    expect(summary.invites).toBe(40);

    smtp.refuse(451, 'Greylisted, try again later');
    const during = await sender.drainOnce();
    expect(during).toMatchObject({ sent: 0, retried: 40, failed: 0 });
    expect(await outboxStatuses(t)).toEqual({ pending: 40 });
    const [row] = await t.dataSource.query('SELECT attempts, last_error, text_body FROM mail_outbox ORDER BY id LIMIT 1');
    expect(Number(row.attempts)).toBe(1);
    expect(row.last_error).toContain('451');
    expect(row.text_body).toContain('/portal/invite/');
    // Still down for a second round.
    await sleep(1100);
    await sender.drainOnce();
    expect(smtp.refusedCount()).toBeGreaterThanOrEqual(80);

    smtp.accept();
    for (let round = 0; round < 20 && (await outboxStatuses(t)).sent !== 40; round++) {
      await sleep(300);
      await sender.drainOnce();
    }
    expect(await outboxStatuses(t)).toEqual({ sent: 40 });
    const deliveries = deliveriesByOutboxId(smtp.received);
    expect(deliveries.size).toBe(40);
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
    const progress = await invitations.batchProgress(summary.batchId!);
    expect(progress).toMatchObject({ total: 40, sent: 40, pending: 0, failed: 0, done: true });
  });

  it('marks an email the server refuses for good (5xx) as failed, erases its body and audits it', async () => {
    const patient = await createPortalPatient(t);
    const summary = await invitations.sendInvites([patient.id], staff, { bulk: true });
    smtp.refuse(550, 'No such user here');
    expect(await sender.drainOnce()).toMatchObject({ sent: 0, failed: 1 });
    const [row] = await t.dataSource.query(
      'SELECT status, text_body, html_body, last_error FROM mail_outbox WHERE patient_id = ?',
      [patient.id],
    );
    expect(row).toMatchObject({ status: 'failed', text_body: null, html_body: null });
    expect(row.last_error).toContain('550');
    expect(row.last_error).not.toContain(patient.email);
    expect((await invitations.latestInvites([patient.id])).get(patient.id)?.delivery).toBe('failed');
    const progress = await invitations.batchProgress(summary.batchId!);
    expect(progress).toMatchObject({ total: 1, failed: 1, done: true });
    expect(progress.failures[0]).toMatchObject({ patientId: patient.id, toAddress: patient.email });
    const [audit] = await t.dataSource.query(
      "SELECT actor_type, outcome, batch_id FROM audit_events WHERE action = 'mail.failed' AND patient_id = ?",
      [patient.id],
    );
    expect(audit).toMatchObject({ actor_type: 'system', outcome: 'failure', batch_id: summary.batchId });
  });

  it('gives up on a temporarily failing email after MAIL_MAX_ATTEMPTS', async () => {
    const limited = await startTestApp({ SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '10', MAIL_MAX_ATTEMPTS: '2' });
    try {
      const patient = await createPortalPatient(limited);
      await limited.app.get(InvitationsService).sendInvites([patient.id], staff);
      smtp.refuse(421, 'Service not available');
      const limitedSender = limited.app.get(MailSenderService);
      expect(await limitedSender.drainOnce()).toMatchObject({ retried: 1 });
      await sleep(1100);
      expect(await limitedSender.drainOnce()).toMatchObject({ failed: 1 });
    } finally {
      await limited.close();
    }
  });

  it('retries when the SMTP server cannot be reached at all', async () => {
    const unreachable = await startTestApp({ SMTP_URL: 'smtp://127.0.0.1:9', MAIL_RETRY_BASE_MS: '10' });
    try {
      const patient = await createPortalPatient(unreachable);
      await unreachable.app.get(InvitationsService).sendInvites([patient.id], staff);
      expect(await unreachable.app.get(MailSenderService).drainOnce()).toMatchObject({ sent: 0, retried: 1 });
      const [row] = await unreachable.dataSource.query('SELECT status, last_error FROM mail_outbox');
      expect(row.status).toBe('pending');
      expect(row.last_error).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
    } finally {
      await unreachable.close();
    }
  });

  it('reports the skipped patients and queues nothing for them, and previews without writing', async () => {
    const gray = await createPortalPatient(t);
    const noEmail = await createPortalPatient(t, { email: null });
    const red = await createPortalPatient(t, { accessEnabled: false });
    const ids = [gray.id, noEmail.id, red.id, 99_999_999];
    const preview = await invitations.previewInvites(ids);
    expect(await outboxStatuses(t)).toEqual({});
    const summary = await invitations.sendInvites(ids, staff, { bulk: true });
    for (const result of [preview, summary]) {
      expect(result).toMatchObject({
        requested: 4,
        invites: 1,
        resets: 0,
        skipped: { no_email: 1, not_enabled: 1, unknown_patient: 1 },
      });
      expect(result.skippedIds).toEqual({ no_email: [noEmail.id], not_enabled: [red.id], unknown_patient: [99_999_999] });
    }
    expect(await outboxStatuses(t)).toEqual({ pending: 1 });
    const audit = await t.dataSource.query('SELECT action, batch_id FROM audit_events WHERE batch_id = ? ORDER BY patient_id', [
      summary.batchId,
    ]);
    expect(audit).toHaveLength(4);
    const [batch] = await t.dataSource.query(
      'SELECT requested_count, queued_count, skipped_count FROM bulk_batches WHERE id = ?',
      [summary.batchId],
    );
    expect(batch).toMatchObject({ requested_count: 4, queued_count: 1, skipped_count: 3 });
  });

  it('sends a password-reset email instead of an invite when the patient already has a username', async () => {
    const patient = await createPortalPatient(t, { username: `has.name${Date.now()}` });
    const summary = await invitations.sendInvites([patient.id], staff);
    expect(summary).toMatchObject({ invites: 0, resets: 1 });
    await sender.drainOnce();
    await smtp.waitFor(1);
    const parsed = await smtp.parse(smtp.received[0]);
    expect(parsed.subject).toMatch(/^Reset your .* Patient Portal password$/);
    expect(parsed.text).toContain('/portal/reset/');
    const latest = (await invitations.latestInvites([patient.id])).get(patient.id);
    expect(latest).toMatchObject({ purpose: 'reset', delivery: 'sent' });
    expect(latest!.expiresAt.getTime() - latest!.createdAt.getTime()).toBeLessThanOrEqual(3_600_000 + 1000);
  });

  it('keeps a patient name with CR/LF out of the headers, and escapes it in the HTML', async () => {
    const patient = await createPortalPatient(t, { firstName: 'A\r\nBcc: x@evil.test <b>' });
    await invitations.sendInvites([patient.id], staff);
    await sender.drainOnce();
    await smtp.waitFor(1);
    const mail = smtp.received[0];
    expect(mail.to).toEqual([patient.email]);
    expect(mail.raw).not.toMatch(/^Bcc:/im);
    const parsed = await smtp.parse(mail);
    expect(parsed.html).toContain('A  Bcc: x@evil.test &lt;b&gt;');
  });
});

describe('the mail outbox without SMTP_URL', () => {
  it('writes each email as an .eml file to MAIL_DIR that holds the link', async () => {
    const t = await startTestApp();
    try {
      const patient = await createPortalPatient(t);
      await t.app.get(InvitationsService).sendInvites([patient.id], staff);
      expect(await t.app.get(MailSenderService).drainOnce()).toMatchObject({ sent: 1 });
      expect(existsSync(t.config.mailDir)).toBe(true);
      const files = readdirSync(t.config.mailDir).filter((name) => name.endsWith('.eml'));
      expect(files).toHaveLength(1);
      const eml = await simpleParser(readFileSync(join(t.config.mailDir, files[0])));
      expect(eml.to).toMatchObject({ text: patient.email });
      expect(eml.text).toMatch(/http:\/\/localhost:\d+\/portal\/invite\/[A-Za-z0-9_-]{43}/);
      const [row] = await t.dataSource.query('SELECT status, text_body FROM mail_outbox');
      expect(row).toEqual({ status: 'sent', text_body: null });
    } finally {
      await t.close();
    }
  });
});
