import request from 'supertest';
import { MAX_FAILED_SIGN_INS } from '../../../src/auth/lockout/attempt-lock';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient, DEFAULT_BIRTH_DATE } from '../../support/portal-patients';
import { addRepresentative } from '../../support/representatives';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'walnut harbour lantern season';
const NEW_PASSWORD = 'cobalt orchard quietly drifting';

describe("a representative's account page: open sessions and password change (issue 21)", () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL });
    staff = await signInAs(t);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** A representative who set up their own account from the emailed invite. */
  async function representative(lastName: string) {
    const patient = await createPortalPatient(t, { firstName: 'Ife', lastName });
    const rep = await addRepresentative(t, staff, patient.id, { fullName: `Chidi ${lastName}` });
    const before = smtp.received.length;
    await staff
      .post(`/patients/${patient.id}/representatives/${rep.id}/invite`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .expect(303);
    await t.app.get(MailSenderService).drainOnce();
    const link = await linkFrom(smtp, await smtp.waitForMailTo(rep.email, before), BASE_URL);
    const agent = request.agent(t.server);
    const route = (await agent.get(link.path).expect(303)).headers.location as string;
    const step = await agent.get(route).expect(200);
    await agent
      .post(`${route}/identity`)
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), dateOfBirth: DEFAULT_BIRTH_DATE, representativeLastName: lastName })
      .expect(303);
    const page = await agent.get(route).expect(200);
    const username = `chidi${rep.id}`;
    await agent
      .post(route)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(303);
    return { rep, username, patient };
  }

  async function signIn(username: string, password = PASSWORD) {
    const agent = request.agent(t.server);
    const login = await agent.get('/portal/login').expect(200);
    const res = await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username, password });
    return { agent, res };
  }

  const post = async (agent: request.Agent, path: string, form: Record<string, string> = {}) => {
    const page = await agent.get('/portal/account').expect(200);
    return agent
      .post(path)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), ...form });
  };

  it('the home links to the account page, which lists their sessions; one ended from another device stops at once, then all others', async () => {
    const { rep, username } = await representative('Adeyemi');
    const laptop = (await signIn(username)).agent;
    const phone = (await signIn(username)).agent;
    const tablet = (await signIn(username)).agent;

    const home = await laptop.get('/portal').expect(200);
    expect(home.text).toContain('href="/portal/account"');
    const page = await laptop.get('/portal/account').expect(200);
    const handles = [...page.text.matchAll(/\/portal\/account\/sessions\/([0-9a-f]{32})\/end/g)].map((m) => m[1]);
    expect(handles).toHaveLength(2);
    // Their own second factor, offered as to a patient (representative-second-factor.e2e-spec.ts).
    expect(page.text).toContain('href="/portal/account/second-factor"');

    // Which of the two is the phone: its own page names the laptop's and the tablet's, not its own.
    const phonePage = await phone.get('/portal/account').expect(200);
    const phoneHandle = handles.find((handle) => !phonePage.text.includes(`/sessions/${handle}/end`))!;
    await post(laptop, `/portal/account/sessions/${phoneHandle}/end`).then((res) => expect(res.status).toBe(303));
    const ended = await phone.get('/portal/account');
    expect(ended.status).toBe(303);
    expect(ended.headers.location).toContain('/portal/login');
    await tablet.get('/portal/account').expect(200);

    await post(laptop, '/portal/account/sessions/others/end').then((res) => expect(res.status).toBe(303));
    expect((await tablet.get('/portal').expect(303)).headers.location).toContain('/portal/login');
    await laptop.get('/portal/account').expect(200);

    const audit = await t.dataSource.query(
      "SELECT action FROM audit_events WHERE actor_type = 'proxy' AND actor_id = ? AND action LIKE 'representative.session%' ORDER BY id",
      [rep.accountId],
    );
    expect(audit.map((row: { action: string }) => row.action)).toEqual([
      'representative.session_ended',
      'representative.sessions_ended',
    ]);
  });

  it('change password: a wrong current one is counted with sign-in failures; the right one ends other sessions and this one goes on', async () => {
    const { rep, username } = await representative('Balogun');
    const here = (await signIn(username)).agent;
    const elsewhere = (await signIn(username)).agent;

    const wrong = await post(here, '/portal/account/password', {
      currentPassword: 'not my password at all',
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    });
    expect(wrong.status).toBe(400);
    const [counted] = await t.dataSource.query('SELECT failed_login_count FROM representative_accounts WHERE id = ?', [
      rep.accountId,
    ]);
    expect(Number(counted.failed_login_count)).toBe(1);

    const weak = await post(here, '/portal/account/password', {
      currentPassword: PASSWORD,
      newPassword: 'short',
      confirmPassword: 'short',
    });
    expect(weak.status).toBe(400);

    const mailsBefore = smtp.received.length;
    const changed = await post(here, '/portal/account/password', {
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    });
    expect(changed.status).toBe(303);
    await here.get('/portal/account').expect(200);
    // Told at their own address, with no link that signs in.
    await t.app.get(MailSenderService).drainOnce();
    const notice = await smtp.parse(await smtp.waitForMailTo(rep.email, mailsBefore));
    expect(notice.subject).toMatch(/Patient Portal password was changed/);
    expect(notice.text).not.toMatch(/token=|\/portal\/(invite|reset)\//);
    expect((await elsewhere.get('/portal').expect(303)).headers.location).toContain('/portal/login');
    expect((await signIn(username, PASSWORD)).res.headers.location).toBeUndefined();
    expect((await signIn(username, NEW_PASSWORD)).res.headers.location).toBe('/portal');
    // Their own access history, in their words: the sign-ins, the refused and the done password change.
    const history = (await here.get('/portal/account').expect(200)).text;
    expect(history).toContain('You signed in.');
    expect(history).toContain('A password change was refused (wrong password).');
    expect(history).toContain('You changed your password; 1 other session ended.');
    expect(history).toContain('A sign-in failed (wrong password).');
    expect(history).not.toContain('Nothing yet');

    const [row] = await t.dataSource.query(
      "SELECT details FROM audit_events WHERE actor_type = 'proxy' AND actor_id = ? AND action = 'representative.password_changed' AND outcome = 'success'",
      [rep.accountId],
    );
    expect(JSON.parse(row.details)).toMatchObject({ otherSessionsEnded: 1 });
  });

  it('locked out after failed sign-ins: told at their own address, with no link that signs in', async () => {
    const { rep, username, patient } = await representative('Chukwu');
    const before = smtp.received.length;
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) await signIn(username, 'not the password at all');
    await t.app.get(MailSenderService).drainOnce();
    const notice = await smtp.parse(await smtp.waitForMailTo(rep.email, before));
    expect(notice.subject).toMatch(/locked/i);
    expect(notice.text).not.toMatch(/token=|\/portal\/(invite|reset)\//);
    // Staff taking the representative's call see it on the patient's tab, with the address it went to.
    const tab = (await staff.get(`/patients/${patient.id}?tab=portal`).expect(200)).text;
    const notices = tab.slice(tab.indexOf('id="notices-title"'));
    expect(notices).toContain('Sign-in locked after failed attempts');
    expect(notices).toContain(rep.email);
  });
});
