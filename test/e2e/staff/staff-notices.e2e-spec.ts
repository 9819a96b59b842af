import request from 'supertest';
import { SYSTEM_CONTEXT } from '../../../src/audit/audit-context';
import { StaffUsersService } from '../../../src/auth/staff-users.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { csrfTokenOf } from '../../support/html';
import { SoftwareAuthenticator } from '../../support/passkeys';
import { createStaffUserWithTotp, enrolTotp, passwordStep, submitSecondFactor } from '../../support/second-factor';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { createStaffUser, signIn, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

type Agent = request.Agent & { csrf: string };

/** Staff security notices (SECURITY.md §1): through the outbox and the real sender, to the staff member's email. */
describe('staff security notices', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** Delivers the outbox with the real sender; the notice (by its body) that reached `address` after `since`. */
  async function noticeTo(
    address: string,
    since: number,
    body: RegExp,
  ): Promise<{ subject: string; text: string; html: string }> {
    await t.app.get(MailSenderService).drainOnce();
    for (const mail of smtp.received.slice(since).filter((m) => m.to.includes(address))) {
      const parsed = await smtp.parse(mail);
      if (body.test(parsed.text ?? ''))
        return { subject: parsed.subject ?? '', text: parsed.text ?? '', html: String(parsed.html) };
    }
    throw new Error(`no notice matching ${body} to ${address}`);
  }

  const expectSafeNotice = (notice: { text: string; html: string }) => {
    expect(notice.text).toContain('If this wasn’t you, contact your administrator');
    // Staff ask their administrator, not the front desk: no patient-style "Questions? Ask the clinic" line.
    expect(notice.text).not.toContain('Questions?');
    expect(notice.html).not.toContain('Questions?');
    // When, on the clinic's clock, and no link at all (nothing that signs in).
    expect(notice.text).toMatch(/on \d{4}-\d{2}-\d{2} \d{1,2}:\d{2}/);
    expect(notice.text).not.toMatch(/https?:\/\//);
    expect(notice.html).not.toMatch(/<a\s/i);
  };

  const outboxKinds = async (email: string) =>
    (await t.dataSource.query('SELECT kind, patient_id FROM mail_outbox WHERE to_address = ? ORDER BY id', [email])) as Array<{
      kind: string;
      patient_id: number | null;
    }>;

  const json = (agent: Agent, url: string, body: object = {}) =>
    agent.post(url).set('X-CSRF-Token', agent.csrf).set('Accept', 'application/json').send(body);

  it('tells a user their password changed on /account/password, but not at the first change from the one-time password', async () => {
    const users = t.app.get(StaffUsersService);
    const email = `notice-pw-${Date.now()}@clinic.test`;
    const { temporaryPassword } = await users.create({ email, name: 'Nora Notice', role: 'staff' }, SYSTEM_CONTEXT);
    // The first sign-in's change through the real form (one-time password → own password).
    const firstAgent = request.agent(t.server);
    const login = await firstAgent.get('/login').expect(200);
    await firstAgent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), email, password: temporaryPassword })
      .expect(303);
    const first = await firstAgent.get('/account/password').expect(200);
    await firstAgent
      .post('/account/password')
      .type('form')
      .send({
        _csrf: csrfTokenOf(first.text),
        currentPassword: temporaryPassword,
        newPassword: STAFF_PASSWORD,
        confirmPassword: STAFF_PASSWORD,
      })
      .expect(303);

    const since = smtp.received.length;
    const agent = await signIn(t, email, STAFF_PASSWORD);
    const next = 'another long passphrase for notices';
    await agent
      .post('/account/password')
      .type('form')
      .send({ _csrf: agent.csrf, currentPassword: STAFF_PASSWORD, newPassword: next, confirmPassword: next })
      .expect(303);
    const notice = await noticeTo(email, since, /password of your staff account was changed/);
    expect(notice.subject).toMatch(/security notice: your password was changed/);
    expect(notice.text).toContain('Hello Nora Notice');
    expectSafeNotice(notice);
    // One notice in all: the first change sent none. It is an outbox row with no patient.
    expect(await outboxKinds(email)).toEqual([{ kind: 'staff_notice_password_changed', patient_id: null }]);
  });

  it('tells a user when an authenticator app is added or removed and when recovery codes are made anew', async () => {
    const user = await createStaffUser(t);
    const agent = await signIn(t, user.email, user.password);
    let since = smtp.received.length;
    await enrolTotp(agent);
    expectSafeNotice(await noticeTo(user.email, since, /authenticator app was added/));

    since = smtp.received.length;
    const security = await agent.get('/account/security').expect(200);
    await agent
      .post('/account/security/recovery-codes')
      .type('form')
      .send({ _csrf: csrfTokenOf(security.text) })
      .expect(303);
    expectSafeNotice(await noticeTo(user.email, since, /New recovery codes were made/));

    since = smtp.received.length;
    await agent
      .post('/account/security/totp/remove')
      .type('form')
      .send({ _csrf: csrfTokenOf(security.text) })
      .expect(303);
    expectSafeNotice(await noticeTo(user.email, since, /authenticator app was removed/));
    expect((await outboxKinds(user.email)).map((row) => row.kind)).toEqual([
      'staff_notice_totp_added',
      'staff_notice_recovery_codes_new',
      'staff_notice_totp_removed',
    ]);
  });

  it('tells a user when a passkey is added or removed', async () => {
    const user = await createStaffUser(t);
    const agent = (await signIn(t, user.email, user.password)) as Agent;
    const authenticator = new SoftwareAuthenticator(new URL(t.config.publicBaseUrl).origin);
    let since = smtp.received.length;
    const options = await json(agent, '/account/security/passkeys/options').expect(200);
    await json(agent, '/account/security/passkeys', { name: 'Desk key', response: authenticator.register(options.body) }).expect(
      200,
    );
    expectSafeNotice(await noticeTo(user.email, since, /passkey was added/));

    const [{ id }] = await t.dataSource.query('SELECT id FROM staff_passkeys WHERE staff_user_id = ?', [user.id]);
    since = smtp.received.length;
    await agent.post(`/account/security/passkeys/${id}/remove`).type('form').send({ _csrf: agent.csrf }).expect(303);
    expectSafeNotice(await noticeTo(user.email, since, /passkey was removed/));
  });

  it('tells a user a recovery code was used to sign in', async () => {
    const user = await createStaffUserWithTotp(t);
    const since = smtp.received.length;
    const { agent } = await passwordStep(t, user.email, user.password);
    expect((await submitSecondFactor(agent, user.recoveryCodes[0])).status).toBe(303);
    expectSafeNotice(await noticeTo(user.email, since, /recovery code was used to sign in/));
  });

  it('tells a user once when failed sign-ins lock the account', async () => {
    const user = await createStaffUser(t);
    const since = smtp.received.length;
    for (let attempt = 0; attempt < 6; attempt++) {
      const agent = request.agent(t.server);
      const page = await agent.get('/login').expect(200);
      await agent
        .post('/login')
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), email: user.email, password: 'wrong password!' });
    }
    expectSafeNotice(await noticeTo(user.email, since, /locked .* after too many failed sign-in attempts/));
    expect((await outboxKinds(user.email)).map((row) => row.kind)).toEqual(['staff_notice_account_locked']);
  });
});
