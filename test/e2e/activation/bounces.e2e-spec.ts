import { createTransport } from 'nodemailer';
import type { AuditContext } from '../../../src/audit/audit-context';
import { BounceListener } from '../../../src/activation/bounce-listener.service';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { createPortalPatient } from '../../support/portal-patients';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { createStaffUser, signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BOUNCE_DOMAIN = 'bounces.clinic.test';

/** A delivery status notification as an MTA sends it (RFC 3464). */
function dsn(returnPath: string, recipient: string, action: 'failed' | 'delayed', status: string): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>',
    `To: ${returnPath}`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"',
    '',
    '--BOUNDARY',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.example.test. Your message could not be delivered.',
    '--BOUNDARY',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.test',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    `Action: ${action}`,
    `Status: ${status}`,
    `Diagnostic-Code: smtp; ${status.startsWith('5') ? '550' : '452'} ${status} mailbox problem`,
    '',
    '--BOUNDARY',
    'Content-Type: text/rfc822-headers',
    '',
    'Subject: Your Patient Portal invitation',
    '--BOUNDARY--',
    '',
  ].join('\r\n');
}

describe('bounces: VERP return paths and the inbound SMTP listener', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let context: AuditContext;
  let port: number;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({
      SMTP_URL: smtp.url,
      PUBLIC_BASE_URL: 'https://portal.clinic.test',
      BOUNCE_DOMAIN,
      BOUNCE_SMTP_PORT: '0',
      REMINDER_INTERVAL_SECONDS: '0',
    });
    port = t.app.get(BounceListener).port()!;
    staff = await signInAs(t);
    const user = await createStaffUser(t);
    context = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const mta = () => createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const deliver = (to: string, raw: string) => mta().sendMail({ envelope: { from: 'MAILER-DAEMON@mx.example.test', to }, raw });

  async function invited(lastName: string) {
    const patient = await createPortalPatient(t, { firstName: 'Bea', lastName });
    const before = smtp.received.length;
    await t.app.get(InvitationsService).sendInvites([patient.id], context);
    await t.app.get(MailSenderService).drainOnce();
    return { patient, mail: await smtp.waitForMailTo(String(patient.email), before) };
  }
  const outboxRow = async (id: string) =>
    (await t.dataSource.query('SELECT status, bounce_kind, bounce_detail FROM mail_outbox WHERE id = ?', [id]))[0];
  const rowText = async (id: number, q: string) => {
    const res = await staff.get(`/portal-onboarding?q=${q}`).set('HX-Request', 'true').expect(200);
    const start = res.text.indexOf(`<tr id="patient-${id}"`);
    return res.text
      .slice(start, res.text.indexOf('</tr>', start))
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ');
  };

  it('sends with a VERP return path; a real DSN over SMTP marks the email and the address bounced and blocks resends', async () => {
    const { patient, mail } = await invited('Zzbounce');
    expect(mail.from).toMatch(new RegExp(`^bounce\\+${mail.outboxId}\\.[0-9a-f]{16}@${BOUNCE_DOMAIN.replace(/\./g, '\\.')}$`));

    await deliver(mail.from, dsn(mail.from, String(patient.email), 'failed', '5.1.1'));
    expect(await outboxRow(mail.outboxId!)).toMatchObject({ status: 'bounced', bounce_kind: 'hard' });
    const [account] = await t.dataSource.query('SELECT bounced_email FROM portal_accounts WHERE patient_id = ?', [patient.id]);
    expect(account.bounced_email).toBe(patient.email);

    const row = await rowText(patient.id, 'Zzbounce');
    expect(row).toContain('Email bounced: check the address');
    expect(row).toMatch(/Invite bounced \d{4}-/);
    expect(row).not.toContain('Send Invite to');
    const tab = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(tab.text).toContain('no emails go to this address until it is changed');
    expect(tab.text).toContain('link-event-bounced');
    expect(tab.text).toContain('bounced: the address does not accept mail');

    const blocked = await t.app.get(InvitationsService).sendInvites([patient.id], context);
    expect(blocked.skipped).toEqual({ bounced: 1 });
    // A new address on file is free again.
    await t.dataSource.query("UPDATE patients SET email = 'bea.new@example.test' WHERE id = ?", [patient.id]);
    const after = await t.app.get(InvitationsService).sendInvites([patient.id], context);
    expect(after.invites).toBe(1);
  });

  it('records a soft bounce without blocking the address', async () => {
    const { patient, mail } = await invited('Zzsoft');
    await deliver(mail.from, dsn(mail.from, String(patient.email), 'delayed', '4.2.2'));
    expect(await outboxRow(mail.outboxId!)).toMatchObject({ status: 'sent', bounce_kind: 'soft' });
    const [account] = await t.dataSource.query('SELECT bounced_email FROM portal_accounts WHERE patient_id = ?', [patient.id]);
    expect(account.bounced_email).toBeNull();
    expect(await rowText(patient.id, 'Zzsoft')).toContain('Send Invite to');
  });

  it('refuses a forged VERP address and any other recipient at RCPT, changing nothing', async () => {
    const { patient, mail } = await invited('Zzforged');
    const forged = mail.from.replace(/\.[0-9a-f]{16}@/, '.0123456789abcdef@');
    for (const to of [forged, `bounce+${mail.outboxId}@${BOUNCE_DOMAIN}`, `postmaster@${BOUNCE_DOMAIN}`])
      await expect(deliver(to, dsn(to, String(patient.email), 'failed', '5.1.1'))).rejects.toMatchObject({ responseCode: 550 });
    expect(await outboxRow(mail.outboxId!)).toMatchObject({ status: 'sent', bounce_kind: null });
  });
});
