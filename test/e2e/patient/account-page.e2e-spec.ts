import request from 'supertest';
import { AuditService } from '../../../src/audit/audit.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { ACCOUNT_HISTORY_LENGTH } from '../../../src/portal/account/portal-account.service';
import { csrfTokenOf } from '../../support/html';
import { createActivatedPatient } from '../../support/portal-patients';
import { auditActions } from '../../support/sessions';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PASSWORD = 'copper meadow lantern thistle';
const NEW_PASSWORD = 'violet harbour kettle sundial';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

type Agent = request.Agent & { ua: string };

describe('the patient’s own account page', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, CLINIC_TIME_ZONE: 'America/New_York' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const activatedPatient = () => createActivatedPatient(t, PASSWORD, { prefix: 'acct', firstName: 'Marisol' });

  /** A browser (its own cookie jar and user agent) signed in with the real form. */
  async function signedIn(username: string, ua = FIREFOX, password = PASSWORD): Promise<Agent> {
    const agent = request.agent(t.server) as Agent;
    agent.ua = ua;
    const page = await agent.get('/portal/login').set('User-Agent', ua).expect(200);
    await agent
      .post('/portal/login')
      .set('User-Agent', ua)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username, password })
      .expect(303);
    return agent;
  }

  async function post(agent: Agent, path: string, form: Record<string, string> = {}) {
    const page = await agent.get('/portal/account').set('User-Agent', agent.ua).expect(200);
    return agent
      .post(path)
      .set('User-Agent', agent.ua)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), ...form });
  }

  const changePassword = (agent: Agent, currentPassword: string, newPassword = NEW_PASSWORD, confirmPassword = newPassword) =>
    post(agent, '/portal/account/password', { currentPassword, newPassword, confirmPassword });

  /** Delivers the outbox to the SMTP server and returns the parsed mails sent to `to` since `before`. */
  async function deliveredTo(to: string, before: number, count = 1) {
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(before + count);
    return Promise.all(
      smtp.received
        .slice(before)
        .filter((mail) => mail.to[0] === to)
        .map((mail) => smtp.parse(mail)),
    );
  }

  const failedCount = async (id: number) =>
    Number(
      (await t.dataSource.query('SELECT failed_login_count FROM portal_accounts WHERE patient_id = ?', [id]))[0]
        .failed_login_count,
    );

  it('is linked from the portal home, needs a patient session, and lists where the account is signed in', async () => {
    const patient = await activatedPatient();
    await request(t.server)
      .get('/portal/account')
      .expect(303)
      .expect('Location', /\/portal\/login/);
    await request(t.server).get('/portal/account').set('HX-Request', 'true').expect(401);

    const laptop = await signedIn(patient.username, FIREFOX);
    const phone = await signedIn(patient.username, IPHONE);
    const home = await laptop.get('/portal').expect(200);
    expect(home.text).toContain('href="/portal/account"');
    const page = await laptop.get('/portal/account').expect(200);
    expect(page.headers['cache-control']).toContain('no-store');
    expect(page.text).toContain('Firefox 128 on Windows 10 <strong>(this device)</strong>');
    expect(page.text).toContain('Safari 17 on iPhone (iOS 17.5)');
    expect(page.text).toContain('Sign out all other sessions (1)');
    // Times in the clinic's zone; the network address of each session.
    expect(page.text).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T/);
    expect(page.text).toContain('127.0.0.1');
    // The history names the two sign-ins in plain words.
    expect(page.text.match(/You signed in\./g)).toHaveLength(2);
    await phone.get('/portal').expect(200);
  });

  it('ends one other session at once, and then all others, leaving this one signed in', async () => {
    const patient = await activatedPatient();
    const laptop = await signedIn(patient.username, FIREFOX);
    const phone = await signedIn(patient.username, IPHONE);
    const tablet = await signedIn(patient.username, IPHONE);
    await phone.get('/portal').expect(200);

    const page = await laptop.get('/portal/account').expect(200);
    const handles = [...page.text.matchAll(/action="\/portal\/account\/sessions\/([0-9a-f]{32})\/end"/g)].map((m) => m[1]);
    expect(handles).toHaveLength(2);
    // Ending a session that is not this account's changes nothing.
    const other = await activatedPatient();
    const stranger = await signedIn(other.username);
    expect((await post(stranger, `/portal/account/sessions/${handles[0]}/end`)).status).toBe(303);
    await phone.get('/portal').expect(200);
    await tablet.get('/portal').expect(200);

    const endOne = await post(laptop, `/portal/account/sessions/${handles[0]}/end`);
    expect(endOne.status).toBe(303);
    expect(endOne.headers.location).toBe('/portal/account');
    const ended = [phone, tablet];
    // One of the two other sessions stopped working at its very next request; the other still works.
    const results = await Promise.all(ended.map(async (agent) => (await agent.get('/portal')).status));
    expect(results.sort()).toEqual([200, 303]);
    const after = await laptop.get('/portal/account').expect(200);
    expect(after.text).toContain('That session was signed out.');
    expect(after.text).toContain('You ended a session on Safari 17 on iPhone (iOS 17.5).');

    expect((await post(laptop, '/portal/account/sessions/others/end')).status).toBe(303);
    for (const agent of ended) await agent.get('/portal').expect(303);
    const last = await laptop.get('/portal/account').expect(200);
    expect(last.text).toContain('Signed out 1 other session.');
    expect(last.text).toContain('No other device is signed in.');
    // The current session has no "Sign out" button of its own: that is the header's Sign out.
    expect(last.text).not.toMatch(/\/portal\/account\/sessions\/[0-9a-f]{32}\/end/);
    expect((await auditActions(t.dataSource, 'patient_id = ?', [patient.id])).map((e) => e.action)).toEqual(
      expect.arrayContaining(['patient.session_ended', 'patient.sessions_ended']),
    );
    // A malformed handle is refused before anything runs.
    expect((await post(laptop, '/portal/account/sessions/not-a-handle/end')).status).toBe(400);
  });

  it('changes the password: other sessions end, this one goes on, the old password stops working, the address on file is told', async () => {
    const patient = await activatedPatient();
    const laptop = await signedIn(patient.username, FIREFOX);
    const phone = await signedIn(patient.username, IPHONE);
    const before = smtp.received.length;

    const res = await changePassword(laptop, PASSWORD);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/portal/account');
    await phone.get('/portal').expect(303);
    const page = await laptop.get('/portal/account').expect(200);
    expect(page.text).toContain('Your password has been changed.');
    expect(page.text).toContain('You changed your password; 1 other session ended.');
    expect(page.text).not.toContain('Safari');

    const failedSignIn = request.agent(t.server);
    const login = await failedSignIn.get('/portal/login');
    await failedSignIn
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username: patient.username, password: PASSWORD })
      .expect(401);
    await signedIn(patient.username, FIREFOX, NEW_PASSWORD);

    const [mail] = await deliveredTo(patient.email!, before);
    expect(mail.subject).toBe('Your Demo Clinic Patient Portal password was changed');
    expect(mail.text).toContain('Hello Marisol,');
    expect(mail.text).toMatch(/was changed on \d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T\./);
    expect(mail.text).toContain('If this wasn’t you, call Demo Clinic');
    expect(`${mail.text}${String(mail.html)}`).not.toMatch(/https?:\/\//);
    const [audit] = await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.password_changed'", [patient.id]);
    expect(audit.outcome).toBe('success');
    expect(audit.ip).toBeTruthy();

    // The staff Patient Portal tab shows which notices went out.
    const staff = await signInAs(t);
    const tab = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(tab.text).toContain('Account notices emailed to the patient');
    expect(tab.text).toMatch(/<td>Password changed<\/td>\s*<td>[^<]+<\/td>\s*<td>[^<]+<\/td>\s*<td>sent /);
  });

  it('refuses a bad new password without counting an attempt, and counts a wrong current password with sign-in failures', async () => {
    const patient = await activatedPatient();
    const laptop = await signedIn(patient.username);

    const short = await changePassword(laptop, PASSWORD, 'too short');
    expect(short.status).toBe(400);
    expect(short.text).toContain('Use at least 15 characters');
    const surname = await changePassword(laptop, PASSWORD, `${patient.username} 1980 marisol`);
    expect(surname.status).toBe(400);
    const mismatch = await changePassword(laptop, PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}x`);
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain('The two new passwords do not match.');
    expect(await failedCount(patient.id)).toBe(0);

    const wrong = await changePassword(laptop, 'not my password at all, sorry');
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('That is not your current password.');
    expect(await failedCount(patient.id)).toBe(1);
    const [failure] = await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.password_changed'", [patient.id]);
    expect(failure.outcome).toBe('failure');
    // The password is unchanged.
    await signedIn(patient.username);
  });

  it('locks sign-in after 5 wrong current passwords (sign-in failures included) and tells the address on file', async () => {
    const patient = await activatedPatient();
    const laptop = await signedIn(patient.username);
    const stranger = request.agent(t.server);
    const login = await stranger.get('/portal/login');
    for (let i = 0; i < 2; i++)
      await stranger
        .post('/portal/login')
        .type('form')
        .send({ _csrf: csrfTokenOf(login.text), username: patient.username, password: `wrong guess number ${i}` })
        .expect(401);
    for (let i = 0; i < 3; i++) expect((await changePassword(laptop, `another wrong one ${i}`)).status).toBe(400);
    const before = smtp.received.length;
    const locked = await changePassword(laptop, PASSWORD);
    expect(locked.status).toBe(400);
    expect(locked.text).toContain('Too many failed attempts.');
    const [row] = await t.dataSource.query('SELECT locked_until FROM portal_accounts WHERE patient_id = ?', [patient.id]);
    expect(row.locked_until).not.toBeNull();

    const [mail] = await deliveredTo(patient.email!, before);
    expect(mail.subject).toBe('Your Demo Clinic Patient Portal sign-in was locked after failed attempts');
    expect(mail.text).toMatch(/was locked on \d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T for 15 minutes/);
    expect(mail.text).toContain('If this wasn’t you, call Demo Clinic');
    expect(mail.text).not.toMatch(/https?:\/\//);
    const page = await laptop.get('/portal/account').expect(200);
    expect(page.text).toContain('Sign-in was locked for 15 minutes after repeated failed attempts.');
  });

  it('tells the patient when staff change the username, with when it happened', async () => {
    const patient = await activatedPatient();
    const staff = await signInAs(t);
    const [{ version }] = await t.dataSource.query('SELECT version FROM portal_accounts WHERE patient_id = ?', [patient.id]);
    const before = smtp.received.length;
    await staff
      .post(`/patients/${patient.id}/portal/username`)
      .type('form')
      .send({ _csrf: staff.csrf, username: `renamed${patient.id}`, version: String(version) })
      .expect(303);
    const [mail] = await deliveredTo(patient.email!, before);
    expect(mail.text).toMatch(new RegExp(`username to renamed${patient.id} on \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} E[SD]T\\.`));
    const laptop = await signedIn(`renamed${patient.id}`);
    const page = await laptop.get('/portal/account').expect(200);
    expect(page.text).toContain(`The clinic changed your username from “${patient.username}” to “renamed${patient.id}”.`);
  });

  it('shows the last 20 sign-ins and changes, newest first, and nothing of another patient', async () => {
    const patient = await activatedPatient();
    const other = await activatedPatient();
    const audit = t.app.get(AuditService);
    const actor = {
      actorType: 'patient' as const,
      actorId: patient.id,
      actorLabel: patient.username,
      ip: '203.0.113.9',
      userAgent: null,
    };
    // 24 older sign-ins, then a session ended: 25 events, and the other patient's own.
    for (let i = 0; i < 24; i++) await audit.record(actor, { action: 'patient.sign_in', patientId: patient.id });
    await audit.record(actor, { action: 'patient.sessions_ended', patientId: patient.id, details: { count: 3 } });
    await audit.record(
      { ...actor, actorId: other.id },
      { action: 'patient.sessions_ended', patientId: other.id, details: { count: 7 } },
    );
    const laptop = await signedIn(patient.username);
    const page = await laptop.get('/portal/account').expect(200);
    const items = [...page.text.matchAll(/<li class="activity-item[^"]*">([\s\S]*?)<\/li>/g)].map((match) => match[1]);
    expect(items).toHaveLength(ACCOUNT_HISTORY_LENGTH);
    // Newest first: this sign-in, then the ended sessions, then the older sign-ins.
    expect(items[0]).toContain('You signed in.');
    expect(items[1]).toContain('You ended 3 other sessions.');
    expect(items[1]).toContain('from 203.0.113.9');
    expect(page.text).not.toContain('You ended 7 other sessions.');
  });
});
