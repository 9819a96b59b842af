import request from 'supertest';
import type { AuditContext } from '../../../src/audit/audit-context';
import { hashToken } from '../../../src/invitations/tokens';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { PatientAccountsService } from '../../../src/portal/patient-accounts.service';
import { portalStatus } from '../../../src/portal-access/portal-status';
import { csrfTokenOf } from '../../support/html';
import { openPasswordForm } from '../../support/identity-check';
import { createPortalPatient, portalAccountOf } from '../../support/portal-patients';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { inviteAndReceive as sendAndReceive } from '../../support/invite-mail';
import { createStaffUser } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'lantern orchard violin gravel';

describe('a patient invited by the clinic', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let invitations: InvitationsService;
  let sender: MailSenderService;
  let staff: AuditContext;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL, CLINIC_NAME: 'Maple Street Clinic' });
    invitations = t.app.get(InvitationsService);
    sender = t.app.get(MailSenderService);
    const user = await createStaffUser(t);
    staff = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const inviteAndReceive = (patientId: number) => sendAndReceive(t, smtp, staff, patientId, BASE_URL);

  const openForm = (agent: request.Agent, path: string) => openPasswordForm(agent, path);

  it('goes gray → orange → sets a password → signs in → green', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Marisol', lastName: 'Quintero' });
    expect(portalStatus(await portalAccountOf(t, patient.id))).toBe('gray');

    await invitations.sendInvites([patient.id], staff);
    expect(portalStatus(await portalAccountOf(t, patient.id))).toBe('orange');
    expect((await invitations.latestInvites([patient.id])).get(patient.id)?.delivery).toBe('queued');

    await sender.drainOnce();
    await smtp.waitFor(1);
    const mail = smtp.received[0];
    expect(mail.to).toEqual([patient.email]);
    const parsed = await smtp.parse(mail);
    expect(parsed.subject).toBe('Your Maple Street Clinic Patient Portal invitation');
    expect(parsed.html).toContain('Hello Marisol,');
    expect(parsed.text).toContain('Hello Marisol,');
    expect((await invitations.latestInvites([patient.id])).get(patient.id)).toMatchObject({
      delivery: 'sent',
      purpose: 'invite',
    });
    // Once sent, the database keeps only the token's hash: the body with the link is erased.
    const [outbox] = await t.dataSource.query('SELECT status, text_body, html_body FROM mail_outbox WHERE patient_id = ?', [
      patient.id,
    ]);
    expect(outbox).toMatchObject({ status: 'sent', text_body: null, html_body: null });

    const link = await linkFrom(smtp, mail, BASE_URL);
    expect(link.token).toHaveLength(43);
    const [token] = await t.dataSource.query('SELECT token_hash FROM portal_tokens WHERE patient_id = ?', [patient.id]);
    expect(token.token_hash).toBe(hashToken(link.token));
    expect(token.token_hash).not.toContain(link.token);

    const agent = request.agent(t.server);
    const form = await openForm(agent, link.path);
    expect(form.location).toBe('/portal/invite');
    expect(form.html).toContain('Set up your Patient Portal account');
    expect(form.html).toContain('type="password"');

    const ready = await agent
      .post('/portal/invite')
      .redirects(1)
      .type('form')
      .send({ _csrf: form.csrf, username: 'marisol.q', password: PASSWORD, confirmPassword: PASSWORD })
      .expect(200);
    expect(ready.text).toContain('Your account is ready');
    expect(ready.text).toContain('href="/portal/login"');
    // No automatic sign-in.
    await agent
      .get('/portal')
      .expect(303)
      .expect('Location', /^\/portal\/login/);
    expect(portalStatus(await portalAccountOf(t, patient.id))).toBe('orange');

    const loginPage = await agent.get('/portal/login').expect(200);
    await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(loginPage.text), username: 'Marisol.Q', password: PASSWORD })
      .expect(303)
      .expect('Location', '/portal');
    const home = await agent.get('/portal').expect(200);
    expect(home.text).toContain('Welcome, Marisol');

    const account = await portalAccountOf(t, patient.id);
    expect(portalStatus(account)).toBe('green');
    expect(account.username).toBe('marisol.q');
    expect(account.lastLoginAt).not.toBeNull();
    const actions = (
      await t.dataSource.query('SELECT action, outcome FROM audit_events WHERE patient_id = ? ORDER BY id', [patient.id])
    ).map((row: { action: string }) => row.action);
    expect(actions).toEqual([
      'portal.invite_issued',
      'mail.sent',
      'portal.link_opened',
      'portal.identity_checked',
      'portal.token_used',
      'patient.sign_in',
    ]);
  });

  it('accepts a link only once', async () => {
    const patient = await createPortalPatient(t);
    const { link } = await inviteAndReceive(patient.id);
    const first = request.agent(t.server);
    // Opening the link twice (a mail scanner, then the patient) consumes nothing.
    await request(t.server).get(link.path).expect(303);
    const form = await openForm(first, link.path);
    await first
      .post('/portal/invite')
      .redirects(1)
      .type('form')
      .send({ _csrf: form.csrf, username: `once${patient.id}`, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(200);

    const again = await request(t.server).get(link.path).expect(410);
    expect(again.text).toContain('This link is no longer valid — ask the clinic for a new one');
    expect(again.text).not.toMatch(/at .*\.ts:\d+/);
    // Replaying the form in the same session changes nothing either.
    const replay = await first.get('/portal/invite').expect(410);
    expect(replay.text).toContain('no longer valid');
  });

  it('lets exactly one of many parallel submissions of one link through', async () => {
    const patient = await createPortalPatient(t);
    const { link } = await inviteAndReceive(patient.id);
    const agents = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const agent = request.agent(t.server);
        return { agent, form: await openForm(agent, link.path) };
      }),
    );
    const results = await Promise.all(
      agents.map(({ agent, form }, i) =>
        agent
          .post('/portal/invite')
          .type('form')
          .send({ _csrf: form.csrf, username: `race${patient.id}x${i}`, password: PASSWORD, confirmPassword: PASSWORD }),
      ),
    );
    expect(results.filter((res) => res.status === 303 && res.headers.location === '/portal/account-ready')).toHaveLength(1);
    expect(results.filter((res) => res.status === 410)).toHaveLength(7);
  });

  it('refuses an expired link on GET and on POST and changes nothing', async () => {
    const patient = await createPortalPatient(t);
    const { link } = await inviteAndReceive(patient.id);
    const agent = request.agent(t.server);
    const form = await openForm(agent, link.path);
    await t.dataSource.query("UPDATE portal_tokens SET expires_at = '2000-01-01 00:00:00' WHERE patient_id = ?", [patient.id]);
    await request(t.server).get(link.path).expect(410);
    await agent
      .post('/portal/invite')
      .type('form')
      .send({ _csrf: form.csrf, username: `late${patient.id}`, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(410);
    expect((await portalAccountOf(t, patient.id)).username).toBeNull();
  });

  it('revokes the first link when a second invite is sent, and the second one works', async () => {
    const patient = await createPortalPatient(t);
    const first = await inviteAndReceive(patient.id);
    // Outside the double-click window (see REPEAT_WINDOW_MS).
    await t.dataSource.query("UPDATE portal_tokens SET created_at = '2000-01-01 00:00:00' WHERE patient_id = ?", [patient.id]);
    const second = await inviteAndReceive(patient.id);
    expect(second.link.token).not.toBe(first.link.token);
    const [old] = await t.dataSource.query('SELECT revoked_reason FROM portal_tokens WHERE token_hash = ?', [
      hashToken(first.link.token),
    ]);
    expect(old.revoked_reason).toBe('superseded');

    const oldPage = await request(t.server).get(first.link.path).expect(410);
    const newAgent = request.agent(t.server);
    await openForm(newAgent, second.link.path);
    // Invalid, expired, used and revoked links all show the same page.
    const unknown = await request(t.server)
      .get(`/portal/invite/${'A'.repeat(43)}`)
      .expect(410);
    const malformed = await request(t.server).get('/portal/invite/abc').expect(410);
    const strip = (html: string) => html.replace(/"X-CSRF-Token": "[^"]+"|name="_csrf" value="[^"]+"/g, '');
    expect(strip(unknown.text)).toBe(strip(oldPage.text));
    expect(strip(malformed.text)).toBe(strip(oldPage.text));
  });

  it('queues one email for a double click', async () => {
    const patient = await createPortalPatient(t);
    const [a, b] = await Promise.all([
      invitations.sendInvites([patient.id], staff),
      invitations.sendInvites([patient.id], staff),
    ]);
    expect(a.invites + b.invites).toBe(2);
    expect((a.repeated ?? 0) + (b.repeated ?? 0)).toBe(1);
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ?', [patient.id]);
    expect(Number(n)).toBe(1);
  });

  it('builds links from PUBLIC_BASE_URL, never from the Host header', async () => {
    const patient = await createPortalPatient(t, { username: null });
    await t.dataSource.query('UPDATE portal_accounts SET username = ?, username_key = ? WHERE patient_id = ?', [
      `host${patient.id}`,
      `host${patient.id}`,
      patient.id,
    ]);
    const agent = request.agent(t.server);
    const page = await agent.get('/portal/forgot-password').set('Host', 'evil.test').expect(200);
    const before = smtp.received.length;
    await agent
      .post('/portal/forgot-password')
      .set('Host', 'evil.test')
      .set('X-Forwarded-Host', 'evil.test')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), identifier: `host${patient.id}` })
      .expect(200);
    await t.app.get(PatientAccountsService).resetsSettled();
    await sender.drainOnce();
    await smtp.waitFor(before + 1);
    const mail = smtp.received[smtp.received.length - 1];
    expect(mail.raw).not.toContain('evil.test');
    expect((await linkFrom(smtp, mail, BASE_URL)).url.startsWith(`${BASE_URL}/portal/reset/`)).toBe(true);
  });
});
