import { answerIdentityCheck } from '../../support/identity-check';
import request from 'supertest';
import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient } from '../../support/portal-patients';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { createStaffUser, signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'lantern orchard violin gravel';
const TIME = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC';

describe('link states: queued → sent → opened → set up → first sign-in, or expired / revoked / failed', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let invitations: InvitationsService;
  let sender: MailSenderService;
  let context: AuditContext;
  let staff: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL });
    invitations = t.app.get(InvitationsService);
    sender = t.app.get(MailSenderService);
    const user = await createStaffUser(t);
    context = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
    staff = await signInAs(t);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const rowText = async (id: number, lastName: string) => {
    const res = await staff.get(`/portal-onboarding?q=${lastName}`).set('HX-Request', 'true').expect(200);
    const start = res.text.indexOf(`<tr id="patient-${id}"`);
    expect(start).toBeGreaterThanOrEqual(0);
    return res.text
      .slice(start, res.text.indexOf('</tr>', start))
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ');
  };
  const tabHistory = async (id: number) => {
    const res = await staff.get(`/patients/${id}?tab=portal`).expect(200);
    const lists = [...res.text.matchAll(/<ol class="link-history">([\s\S]*?)<\/ol>/g)].map((m) =>
      [...m[1].matchAll(/<li class="link-event link-event-(\w+)/g)].map((e) => e[1]),
    );
    return lists;
  };

  it('walks one invite through every step; the row shows the latest state with its time, the tab the whole history', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Lina', lastName: 'Zzstates' });
    await invitations.sendInvites([patient.id], context);
    expect(await rowText(patient.id, 'Zzstates')).toMatch(new RegExp(`Invite queued ${TIME}`));

    const before = smtp.received.length;
    await sender.drainOnce();
    const mail = await smtp.waitForMailTo(String(patient.email), before);
    expect(await rowText(patient.id, 'Zzstates')).toMatch(new RegExp(`Invite sent ${TIME}`));

    const link = await linkFrom(smtp, mail, BASE_URL);
    const agent = request.agent(t.server);
    const opened = await agent.get(link.path).expect(303);
    // A second opening (a mail scanner, a reload) keeps the first time and writes no second audit row.
    const [{ opened_at: first }] = await t.dataSource.query('SELECT opened_at FROM portal_tokens WHERE patient_id = ?', [
      patient.id,
    ]);
    expect(first).not.toBeNull();
    await request.agent(t.server).get(link.path).expect(303);
    const [{ opened_at: again, used_at: unused }] = await t.dataSource.query(
      'SELECT opened_at, used_at FROM portal_tokens WHERE patient_id = ?',
      [patient.id],
    );
    expect(String(again)).toBe(String(first));
    expect(unused).toBeNull();
    const openedAudits = await t.dataSource.query(
      "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'portal.link_opened' AND patient_id = ?",
      [patient.id],
    );
    expect(Number(openedAudits[0].n)).toBe(1);
    expect(await rowText(patient.id, 'Zzstates')).toMatch(new RegExp(`Invite opened ${TIME}`));

    await answerIdentityCheck(agent, 'invite');
    const form = await agent.get(opened.headers.location).expect(200);
    await agent
      .post(opened.headers.location)
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username: 'lina.states', password: PASSWORD, confirmPassword: PASSWORD })
      .expect(303);
    expect(await rowText(patient.id, 'Zzstates')).toMatch(new RegExp(`Account set up ${TIME}`));

    const login = await agent.get('/portal/login').expect(200);
    await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username: 'lina.states', password: PASSWORD })
      .expect(303);
    expect(await rowText(patient.id, 'Zzstates')).toMatch(new RegExp(`First sign-in ${TIME}`));
    expect(await tabHistory(patient.id)).toEqual([['queued', 'sent', 'opened', 'set_up', 'signed_in']]);
  });

  it('shows revoked (superseded), expired and failed links, and the tab keeps each link apart', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Omar', lastName: 'Zzended' });
    await invitations.sendInvites([patient.id], context);
    await sender.drainOnce();
    // The first link is older than the repeat window, so a second invite supersedes it.
    await t.dataSource.query("UPDATE portal_tokens SET created_at = '2026-01-01 00:00:00' WHERE patient_id = ?", [patient.id]);
    await invitations.sendInvites([patient.id], context);
    expect(await rowText(patient.id, 'Zzended')).toMatch(new RegExp(`Invite queued ${TIME}`));
    expect((await tabHistory(patient.id))[1]).toEqual(['queued', 'sent', 'revoked']);

    await sender.drainOnce();
    await t.dataSource.query(
      "UPDATE portal_tokens SET expires_at = '2026-02-01 00:00:00' WHERE patient_id = ? AND revoked_at IS NULL",
      [patient.id],
    );
    expect(await rowText(patient.id, 'Zzended')).toMatch(/Invite expired 2026-02-01 00:00 UTC/);

    await t.dataSource.query(
      "UPDATE mail_outbox SET status = 'failed', failed_at = '2026-01-15 10:00:00' WHERE id = (SELECT MAX(id) FROM mail_outbox WHERE patient_id = ?)",
      [patient.id],
    );
    // A failed email wins over the expiry: the link never arrived.
    expect(await rowText(patient.id, 'Zzended')).toMatch(/Invite failed 2026-01-15 10:00 UTC/);
    const [latest] = await tabHistory(patient.id);
    expect(latest).toEqual(expect.arrayContaining(['queued', 'sent', 'failed', 'expired']));
  });
});
