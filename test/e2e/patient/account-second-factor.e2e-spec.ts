import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { csrfTokenOf } from '../../support/html';
import { createActivatedPatient } from '../../support/portal-patients';
import { awayFromStepBoundary, recoveryCodesOf, totpCode, totpSecretOf } from '../../support/second-factor';
import { auditActions } from '../../support/sessions';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PASSWORD = 'copper meadow lantern thistle';
const ENROL = '/portal/account/second-factor';

describe('a patient’s optional second sign-in step', () => {
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

  const activatedPatient = () => createActivatedPatient(t, PASSWORD, { prefix: 'mfa', firstName: 'Ines' });

  /** The password step through the real form; returns the agent and where it was sent. */
  async function password(username: string) {
    const agent = request.agent(t.server);
    const page = await agent.get('/portal/login').expect(200);
    const res = await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username, password: PASSWORD })
      .expect(303);
    return { agent, location: String(res.headers.location) };
  }

  async function secondStep(agent: request.Agent, code: string) {
    const page = await agent.get('/portal/login/second-step').expect(200);
    return agent
      .post('/portal/login/second-step')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), code });
  }

  /** Turns the app on from the account page, confirmed with the previous step's code (the current one stays usable). */
  async function enrol(agent: request.Agent) {
    await awayFromStepBoundary();
    const setup = await agent.get(ENROL).expect(200);
    const secret = totpSecretOf(setup.text);
    const confirm = async () =>
      agent
        .post(`${ENROL}/totp`)
        .redirects(1)
        .type('form')
        .send({ _csrf: csrfTokenOf(setup.text), code: await totpCode(secret, -1) });
    // The previous step's code is refused only when a step boundary passes in flight (a loaded machine): then once more.
    const stepBefore = Math.floor(Date.now() / 30_000);
    let res = await confirm();
    if (res.status === 400 && Math.floor(Date.now() / 30_000) !== stepBefore) res = await confirm();
    expect(res.status).toBe(200);
    return { secret, recoveryCodes: recoveryCodesOf(res.text) };
  }

  async function mailTo(to: string, before: number) {
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(before + 1);
    const mails = await Promise.all(smtp.received.slice(before).map((mail) => smtp.parse(mail)));
    return mails.filter((mail) => mail.to && JSON.stringify(mail.to).includes(to));
  }

  const failedCount = async (id: number) =>
    Number(
      (await t.dataSource.query('SELECT failed_login_count FROM portal_accounts WHERE patient_id = ?', [id]))[0]
        .failed_login_count,
    );

  it('enrols an authenticator app (a wrong code turns nothing on), shows recovery codes once and tells the patient', async () => {
    const patient = await activatedPatient();
    const { agent, location } = await password(patient.username);
    expect(location).toBe('/portal');
    const account = await agent.get('/portal/account').expect(200);
    expect(account.text).toContain('Off: signing in asks only for your password.');

    const setup = await agent.get(ENROL).expect(200);
    expect(setup.text).toContain('src="data:image/png;base64,');
    const wrong = await agent
      .post(`${ENROL}/totp`)
      .type('form')
      .send({ _csrf: csrfTokenOf(setup.text), code: '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('That code did not match.');
    // The same secret is offered again until it is confirmed.
    expect(totpSecretOf(wrong.text)).toBe(totpSecretOf(setup.text));

    const before = smtp.received.length;
    const { recoveryCodes } = await enrol(agent);
    expect(recoveryCodes).toHaveLength(10);
    const again = await agent.get(`${ENROL}/recovery-codes`).expect(200);
    expect(recoveryCodesOf(again.text)).toEqual([]);
    const [notice] = await mailTo(patient.email!, before);
    expect(notice.subject).toContain('A sign-in step was added');
    expect(notice.text).toMatch(
      /An authenticator app was added to your Patient Portal account on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\./,
    );
    expect(notice.text).toContain('If this wasn’t you, call Demo Clinic');
    expect(notice.text).not.toMatch(/https?:\/\//);
    const page = await agent.get('/portal/account').expect(200);
    expect(page.text).toContain('On: signing in asks for a code from your authenticator app (10 recovery codes left).');
    expect(page.text).toContain('You added an authenticator app as a second sign-in step.');
  });

  it('asks for the code after the password; wrong codes count with sign-in failures; a code works once', async () => {
    const patient = await activatedPatient();
    const { secret } = await enrol((await password(patient.username)).agent);

    const { agent, location } = await password(patient.username);
    expect(location).toBe('/portal/login/second-step');
    // Half signed in: nothing else opens.
    await agent
      .get('/portal')
      .expect(303)
      .expect('Location', /\/portal\/login/);
    const again = await password(patient.username);
    const wrong = await secondStep(again.agent, '123456');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That code did not work.');
    expect(await failedCount(patient.id)).toBe(1);

    await awayFromStepBoundary();
    const code = await totpCode(secret);
    const right = await secondStep(again.agent, code);
    expect(right.status).toBe(303);
    expect(right.headers.location).toBe('/portal');
    await again.agent.get('/portal').expect(200);
    expect(await failedCount(patient.id)).toBe(0);
    // The same code again (another browser) is refused: each step is usable once.
    expect((await secondStep(agent, code)).status).toBe(401);
    const [signIn] = (
      await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.sign_in' AND outcome = 'success'", [patient.id])
    ).slice(-1);
    expect(JSON.parse(signIn.details!)).toEqual({ factor: 'totp' });
  });

  it('signs in once with each recovery code and tells the patient how many are left', async () => {
    const patient = await activatedPatient();
    const { recoveryCodes } = await enrol((await password(patient.username)).agent);
    const before = smtp.received.length;
    const first = await password(patient.username);
    expect((await secondStep(first.agent, recoveryCodes[0].toUpperCase())).status).toBe(303);
    await first.agent.get('/portal').expect(200);
    const [notice] = (await mailTo(patient.email!, before)).filter((mail) => mail.subject?.includes('recovery code'));
    expect(notice.text).toContain('That code cannot be used again; 9 unused codes are left.');
    const second = await password(patient.username);
    expect((await secondStep(second.agent, recoveryCodes[0])).status).toBe(401);
    const page = await first.agent.get('/portal/account').expect(200);
    expect(page.text).toContain('A recovery code was used to sign in (9 codes left).');
  });

  it('removes the app (and its recovery codes) and tells the patient; sign-in is password-only again', async () => {
    const patient = await activatedPatient();
    const agent = (await password(patient.username)).agent;
    await enrol(agent);
    const page = await agent.get(ENROL).expect(200);
    const before = smtp.received.length;
    await agent
      .post(`${ENROL}/totp/remove`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) })
      .expect(303);
    const [notice] = (await mailTo(patient.email!, before)).filter((mail) => mail.subject?.includes('removed'));
    expect(notice.text).toContain('An authenticator app was removed from your Patient Portal account on');
    expect(notice.text).toContain('Signing in now asks only for your password.');
    const [{ n: codes }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_recovery_codes WHERE account_id = ?', [
      patient.id,
    ]);
    expect(Number(codes)).toBe(0);
    expect((await password(patient.username)).location).toBe('/portal');
  });

  it('under the admin policy "require", a patient without one sets it up right after the password, and cannot remove it', async () => {
    const admin = await signInAs(t, 'admin');
    const staff = await signInAs(t, 'staff');
    await staff
      .post('/admin/security/patients')
      .type('form')
      .send({ _csrf: staff.csrf, patientSecondFactor: 'require' })
      .expect(403);
    const policy = await admin.get('/admin/security').expect(200);
    expect(policy.text).toContain('<strong>Offered:</strong>');
    await admin
      .post('/admin/security/patients')
      .type('form')
      .send({ _csrf: admin.csrf, patientSecondFactor: 'require' })
      .expect(303);
    expect((await admin.get('/admin/security').expect(200)).text).toContain('<strong>Required:</strong>');
    try {
      const patient = await activatedPatient();
      const { agent, location } = await password(patient.username);
      expect(location).toBe(ENROL);
      await agent.get('/portal').expect(303).expect('Location', ENROL);
      await agent.get('/portal/account').expect(303).expect('Location', ENROL);
      const page = await agent.get(ENROL).expect(200);
      expect(page.text).toContain('asks every patient to add a second sign-in step');
      await enrol(agent);
      await agent.get('/portal').expect(200);
      const manage = await agent.get(ENROL).expect(200);
      expect(manage.text).not.toContain('/totp/remove');
      const refused = await agent
        .post(`${ENROL}/totp/remove`)
        .type('form')
        .send({ _csrf: csrfTokenOf(manage.text) });
      expect(refused.status).toBe(409);
      expect((await auditActions(t.dataSource, "action = 'admin.portal_mfa_policy_changed'")).length).toBe(1);
    } finally {
      await admin
        .post('/admin/security/patients')
        .type('form')
        .send({ _csrf: admin.csrf, patientSecondFactor: 'offer' })
        .expect(303);
    }
  });
});
