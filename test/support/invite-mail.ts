import type { AuditContext } from '../../src/audit/audit-context';
import { InvitationsService } from '../../src/portal-access/invitations.service';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { linkFrom, type TestSmtpServer } from './smtp-server';
import type { TestApp } from './test-app';

/** Sends the invite (or reset), delivers it to the test SMTP server and returns that email and its link. */
export async function inviteAndReceive(
  t: TestApp,
  smtp: TestSmtpServer,
  actor: AuditContext,
  patientId: number,
  baseUrl: string,
) {
  const before = smtp.received.length;
  await t.app.get(InvitationsService).sendInvites([patientId], actor);
  await t.app.get(MailSenderService).drainOnce();
  const [{ email }] = await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [patientId]);
  const mail = await smtp.waitForMailTo(email, before);
  return { mail, link: await linkFrom(smtp, mail, baseUrl) };
}
