import request from 'supertest';
import { storedSessionId } from '../../../src/auth/session.setup';
import { toSqlDateTime } from '../../../src/database/sql';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { PatientAccountsService } from '../../../src/portal/patient-accounts.service';
import { PATIENT_SIGN_IN_FAILED_MESSAGE } from '../../../src/portal/portal-sign-in-failed.filter';
import { csrfTokenOf } from '../../support/html';
import { answerIdentityCheck } from '../../support/identity-check';
import { createActivatedPatient, createPortalPatient } from '../../support/portal-patients';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PASSWORD = 'copper meadow lantern thistle';
const BASE_URL = 'https://portal.clinic.test';

/** Removes what differs between two responses for reasons other than the account (CSRF tokens). */
const comparable = (html: string) => html.replace(/"X-CSRF-Token": "[^"]+"/g, '').replace(/name="_csrf" value="[^"]+"/g, '');

describe('a patient signing in to the portal', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** An activated patient (username + password), orange until the first sign-in. */
  const activatedPatient = (options: { accessEnabled?: boolean; lastName?: string } = {}) =>
    createActivatedPatient(t, PASSWORD, options);

  async function attempt(agent: request.Agent, username: string, password: string) {
    const page = await agent.get('/portal/login').expect(200);
    return agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username, password });
  }

  it('answers every failure the same way: unknown username, wrong password, disabled access, no password yet', async () => {
    const active = await activatedPatient();
    const disabled = await activatedPatient({ accessEnabled: false });
    const noPassword = `nopass${Date.now()}`;
    await createPortalPatient(t, { username: noPassword });
    const responses = [
      await attempt(request.agent(t.server), 'nobody.here', PASSWORD),
      await attempt(request.agent(t.server), active.username, 'wrong password for sure'),
      await attempt(request.agent(t.server), disabled.username, PASSWORD),
      await attempt(request.agent(t.server), noPassword, PASSWORD),
    ];
    for (const res of responses) {
      expect(res.status).toBe(401);
      expect(res.text).toContain(PATIENT_SIGN_IN_FAILED_MESSAGE);
    }
    // Identical apart from the username echoed back into the form.
    const typed = ['nobody.here', active.username, disabled.username, noPassword];
    expect(new Set(responses.map((res, i) => comparable(res.text).replace(`value="${typed[i]}"`, 'value="USER"'))).size).toBe(1);
  });

  it('locks the account for 15 minutes after 5 wrong passwords, even for the right one', async () => {
    const patient = await activatedPatient();
    const agent = request.agent(t.server);
    for (let i = 0; i < 5; i++) expect((await attempt(agent, patient.username, `wrong password number ${i}`)).status).toBe(401);
    const locked = await attempt(agent, patient.username, PASSWORD);
    expect(locked.status).toBe(401);
    expect(locked.text).toContain(PATIENT_SIGN_IN_FAILED_MESSAGE);
    const [audit] = await t.dataSource.query(
      "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'patient.locked_out' AND patient_id = ?",
      [patient.id],
    );
    expect(Number(audit.n)).toBe(1);
    // The address on file is told, with no link in it (delivered here, so later tests count only their own mail).
    const before = smtp.received.length;
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(before + 1);
    const notice = await smtp.parse(smtp.received.find((mail) => mail.to[0] === patient.email)!);
    expect(notice.subject).toContain('sign-in was locked');
    expect(notice.text).toContain('for 15 minutes');
    expect(notice.text).toContain('this wasn’t you, call Demo Clinic');
    expect(notice.text).not.toMatch(/https?:/);
  });

  it('regenerates the session id at sign-in, turns the patient green and ends the session at sign-out', async () => {
    const patient = await activatedPatient();
    const agent = request.agent(t.server);
    const page = await agent.get('/portal/login').expect(200);
    const before = cookieValue(page.headers['set-cookie']);
    const res = await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username: patient.username.toUpperCase(), password: PASSWORD })
      .expect(303);
    const after = cookieValue(res.headers['set-cookie']);
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    // The pre-sign-in cookie is worth nothing.
    await request(t.server).get('/portal').set('Cookie', `portal.sid=${before}`).expect(303);

    const home = await agent.get('/portal').expect(200);
    expect(home.text).toContain('Welcome, Robin');
    const [account] = await t.dataSource.query('SELECT first_login_at, last_login_at FROM portal_accounts WHERE patient_id = ?', [
      patient.id,
    ]);
    expect(account.first_login_at).not.toBeNull();

    const out = await agent
      .post('/portal/logout')
      .type('form')
      .send({ _csrf: csrfTokenOf(home.text) })
      .expect(303);
    expect(out.headers.location).toBe('/portal/login');
    expect(out.headers['clear-site-data']).toContain('"cache"');
    await request(t.server)
      .get('/portal')
      .set('Cookie', `portal.sid=${after}`)
      .expect(303)
      .expect('Location', /\/portal\/login/);
    const actions = (
      await t.dataSource.query('SELECT action FROM audit_events WHERE patient_id = ? ORDER BY id', [patient.id])
    ).map((row: { action: string }) => row.action);
    expect(actions).toEqual(['patient.sign_in', 'patient.sign_out']);
  });

  it('ends an open session when access is disabled or the sessions are revoked', async () => {
    const patient = await activatedPatient();
    const agent = request.agent(t.server);
    expect((await attempt(agent, patient.username, PASSWORD)).status).toBe(303);
    await agent.get('/portal').expect(200);
    await t.dataSource.query('UPDATE portal_accounts SET session_generation = session_generation + 1 WHERE patient_id = ?', [
      patient.id,
    ]);
    await agent.get('/portal').expect(303);

    expect((await attempt(agent, patient.username, PASSWORD)).status).toBe(303);
    await agent.get('/portal').expect(200);
    await t.dataSource.query('UPDATE portal_accounts SET access_enabled = 0 WHERE patient_id = ?', [patient.id]);
    await agent.get('/portal').set('HX-Request', 'true').expect(401);
  });

  it('ends a session idle for longer than PATIENT_IDLE_MINUTES', async () => {
    const patient = await activatedPatient();
    const agent = request.agent(t.server);
    const res = await attempt(agent, patient.username, PASSWORD);
    // The table keeps only the SHA-256 of the session id.
    const sid = storedSessionId(decodeURIComponent(cookieValue(res.headers['set-cookie'])!).replace(/^s:/, '').split('.')[0]);
    const [row] = await t.dataSource.query('SELECT sess FROM patient_sessions WHERE sid = ?', [sid]);
    const sess = JSON.parse(row.sess);
    sess.lastActivityAt = Date.now() - (t.config.patientIdleMinutes * 60_000 + 1000);
    await t.dataSource.query('UPDATE patient_sessions SET sess = ? WHERE sid = ?', [JSON.stringify(sess), sid]);
    await agent
      .get('/portal')
      .expect(303)
      .expect('Location', /\/portal\/login/);
  });

  it('keeps staff and patient sessions apart', async () => {
    const staff = await signInAs(t);
    await staff
      .get('/portal')
      .expect(303)
      .expect('Location', /\/portal\/login/);
    const patient = await activatedPatient();
    const agent = request.agent(t.server);
    await attempt(agent, patient.username, PASSWORD);
    await agent
      .get('/account/password')
      .expect(303)
      .expect('Location', /^\/login/);
  });

  describe('forgot password', () => {
    async function forgot(identifier: string) {
      const agent = request.agent(t.server);
      const page = await agent.get('/portal/forgot-password').expect(200);
      const res = await agent
        .post('/portal/forgot-password')
        .redirects(1)
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), identifier });
      // The answer does not wait for the work (its timing must not depend on it): the email is queued just after.
      await t.app.get(PatientAccountsService).resetsSettled();
      return res;
    }

    it('answers the same whether or not the account exists, and emails only a real one', async () => {
      const patient = await activatedPatient();
      const before = smtp.received.length;
      const known = await forgot(patient.username);
      const unknown = await forgot('no.such.user');
      const byEmail = await forgot(patient.email!);
      const unknownEmail = await forgot('nobody@example.test');
      for (const res of [known, unknown, byEmail, unknownEmail]) expect(res.status).toBe(200);
      expect(new Set([known, unknown, byEmail, unknownEmail].map((res) => comparable(res.text))).size).toBe(1);
      await t.app.get(MailSenderService).drainOnce();
      // The username and the email address each asked once: one link is repeated within the double-click window, so one email.
      await smtp.waitFor(before + 1);
      expect(smtp.received.slice(before).every((mail) => mail.to[0] === patient.email)).toBe(true);
    });

    it('sends nothing for a disabled account', async () => {
      const patient = await activatedPatient({ accessEnabled: false });
      await forgot(patient.username);
      const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ?', [patient.id]);
      expect(Number(n)).toBe(0);
    });

    it('queues at most 3 reset emails per account in 15 minutes, answering the same to the 4th', async () => {
      const patient = await activatedPatient();
      const answers = [];
      for (let i = 0; i < 4; i++) {
        answers.push(await forgot(patient.username));
        // Step out of the double-click window so each request counts.
        await t.dataSource.query('UPDATE portal_tokens SET created_at = ? WHERE patient_id = ? AND created_at > ?', [
          toSqlDateTime(new Date(Date.now() - 60_000)),
          patient.id,
          toSqlDateTime(new Date(Date.now() - 30_000)),
        ]);
      }
      expect(new Set(answers.map((res) => comparable(res.text))).size).toBe(1);
      const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ?', [patient.id]);
      expect(Number(n)).toBe(3);
    });

    it('lets the patient choose a new password with the reset link, showing the username, after which the old one fails', async () => {
      const patient = await activatedPatient();
      const before = smtp.received.length;
      await forgot(patient.username);
      await t.app.get(MailSenderService).drainOnce();
      // The test before left three reset emails queued for another patient: this drain sends them too.
      const link = await linkFrom(smtp, await smtp.waitForMailTo(patient.email!, before), BASE_URL);
      expect(link.path).toMatch(/^\/portal\/reset\//);
      const agent = request.agent(t.server);
      await agent.get(link.path).expect(303).expect('Location', '/portal/reset');
      await answerIdentityCheck(agent, 'reset');
      const form = await agent.get('/portal/reset').expect(200);
      expect(form.text).toContain(patient.username);
      expect(form.text).not.toContain('name="username"');
      const newPassword = 'saffron harbor quietly unfolds';
      await agent
        .post('/portal/reset')
        .redirects(1)
        .type('form')
        .send({ _csrf: csrfTokenOf(form.text), password: newPassword, confirmPassword: newPassword })
        .expect(200);
      expect((await attempt(request.agent(t.server), patient.username, PASSWORD)).status).toBe(401);
      expect((await attempt(request.agent(t.server), patient.username, newPassword)).status).toBe(303);
      // A reset link cannot be used as an invite link.
      await request(t.server).get(link.path.replace('/reset/', '/invite/')).expect(410);
    });
  });

  describe('choosing a username and password', () => {
    async function inviteForm(patientId: number, dateOfBirth?: string) {
      const before = smtp.received.length;
      await t.app
        .get(InvitationsService)
        .sendInvites([patientId], { actorType: 'system', actorId: null, actorLabel: null, ip: null, userAgent: null });
      await t.app.get(MailSenderService).drainOnce();
      const [{ email }] = await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [patientId]);
      const link = await linkFrom(smtp, await smtp.waitForMailTo(email, before), BASE_URL);
      const agent = request.agent(t.server);
      await agent.get(link.path).expect(303);
      await answerIdentityCheck(agent, 'invite', dateOfBirth);
      const form = await agent.get('/portal/invite').expect(200);
      return { agent, csrf: csrfTokenOf(form.text) };
    }

    it('treats usernames that differ only in case or width as the same, and keeps the link usable', async () => {
      const taken = `jsmith${Date.now() % 100000}`;
      await createPortalPatient(t, { username: taken });
      const patient = await createPortalPatient(t);
      const { agent, csrf } = await inviteForm(patient.id);
      for (const variant of [taken.toUpperCase(), `ｊ${taken.slice(1)}`]) {
        const res = await agent
          .post('/portal/invite')
          .type('form')
          .send({ _csrf: csrf, username: variant, password: PASSWORD, confirmPassword: PASSWORD })
          .expect(400);
        expect(res.text).toContain('That username is not available');
      }
      await agent
        .post('/portal/invite')
        .redirects(1)
        .type('form')
        .send({ _csrf: csrf, username: `${taken}.b`, password: PASSWORD, confirmPassword: PASSWORD })
        .expect(200);
    });

    it('refuses a password made of the surname and birth year, and one that is too short', async () => {
      const patient = await createPortalPatient(t, { lastName: 'Featherstonehaugh', dateOfBirth: '1984-02-03' });
      const { agent, csrf } = await inviteForm(patient.id, '1984-02-03');
      const own = await agent
        .post('/portal/invite')
        .type('form')
        .send({
          _csrf: csrf,
          username: `feather${patient.id}`,
          password: 'Featherstonehaugh1984!',
          confirmPassword: 'Featherstonehaugh1984!',
        })
        .expect(400);
      expect(own.text).toContain('Do not build the password from your name');
      const short = await agent
        .post('/portal/invite')
        .type('form')
        .send({ _csrf: csrf, username: `feather${patient.id}`, password: 'short one', confirmPassword: 'short one' })
        .expect(400);
      expect(short.text).toContain('at least 15 characters');
      const extra = await agent
        .post('/portal/invite')
        .type('form')
        .send({ _csrf: csrf, username: `feather${patient.id}`, password: PASSWORD, confirmPassword: PASSWORD, patientId: 1 });
      expect(extra.status).toBe(400);
      await agent
        .post('/portal/invite')
        .redirects(1)
        .type('form')
        .send({ _csrf: csrf, username: `feather${patient.id}`, password: PASSWORD, confirmPassword: PASSWORD })
        .expect(200);
    });
  });
});

function cookieValue(setCookie: string[] | string | undefined): string | null {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const cookie = list.find((value) => value.startsWith('portal.sid='));
  return cookie ? cookie.split(';')[0].slice('portal.sid='.length) : null;
}
