import request from 'supertest';
import { csrfTokenOf } from '../../support/html';
import { nextMailTo, type PortalAgent, portalJson, portalPasswordStep } from '../../support/portal-account';
import { SoftwareAuthenticator } from '../../support/passkeys';
import { createActivatedPatient } from '../../support/portal-patients';
import { awayFromStepBoundary, recoveryCodesOf, totpCode, totpSecretOf } from '../../support/second-factor';
import { auditActions } from '../../support/sessions';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PASSWORD = 'copper meadow lantern thistle';
const ENROL = '/portal/account/second-factor';
type Agent = PortalAgent;

describe('a patient’s passkeys (second sign-in step)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let origin: string;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url });
    origin = new URL(t.config.publicBaseUrl).origin;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const activatedPatient = (firstName = 'Paz') => createActivatedPatient(t, PASSWORD, { prefix: 'pk', firstName });

  const password = (username: string) => portalPasswordStep(t, username, PASSWORD);
  const json = portalJson;

  /** The browser's part of adding a passkey, done by the software authenticator. */
  async function addPasskey(agent: Agent, authenticator: SoftwareAuthenticator, name: string) {
    const options = await json(agent, `${ENROL}/passkeys/options`).expect(200);
    return json(agent, `${ENROL}/passkeys`, { name, response: authenticator.register(options.body) });
  }

  async function passkeyStep(agent: Agent, authenticator: SoftwareAuthenticator) {
    const options = await json(agent, '/portal/login/second-step/passkey/options').expect(200);
    return json(agent, '/portal/login/second-step/passkey', { response: authenticator.assert(options.body) });
  }

  const mailTo = (address: string, before: number, subject: RegExp) => nextMailTo(t, smtp, address, before, subject);

  const failedCount = async (id: number) =>
    Number(
      (await t.dataSource.query('SELECT failed_login_count FROM portal_accounts WHERE patient_id = ?', [id]))[0]
        .failed_login_count,
    );
  const passkeyCount = async (id: number) =>
    Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_passkeys WHERE account_id = ?', [id]))[0].n);

  it('adds named passkeys from the account page, shows recovery codes once with the first, and tells the patient each time', async () => {
    const patient = await activatedPatient();
    const { agent } = await password(patient.username);
    const authenticator = new SoftwareAuthenticator(origin);
    const before = smtp.received.length;

    const first = await addPasskey(agent, authenticator, 'My phone');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ redirect: `${ENROL}/recovery-codes` });
    expect(recoveryCodesOf((await agent.get(first.body.redirect).expect(200)).text)).toHaveLength(10);
    const notice = await mailTo(patient.email!, before, /sign-in step was added/);
    expect(notice.text).toMatch(
      /A passkey named “My phone” was added to your Patient Portal account on \d{4}-\d{2}-\d{2} \d{2}:\d{2}/,
    );
    expect(notice.text).toContain('If this wasn’t you, call Demo Clinic');
    expect(notice.text).not.toMatch(/https?:\/\//);

    // A second one, from another authenticator: no new codes, back to the page with a message.
    const second = await addPasskey(agent, new SoftwareAuthenticator(origin), 'Laptop');
    expect(second.body).toEqual({ redirect: ENROL });
    const page = await agent.get(ENROL).expect(200);
    expect(page.text).toContain('The passkey “Laptop” was added.');
    expect(page.text.match(/data-testid="passkey-row"/g)).toHaveLength(2);
    expect(page.text).toContain('Recovery codes left: 10.');
    const account = await agent.get('/portal/account').expect(200);
    expect(account.text).toContain('Signing in can use one of your passkeys (2 registered).');
    expect(account.text).toContain('You added the passkey “My phone” as a second sign-in step.');
    expect(
      (await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.second_factor_added'", [patient.id])).map((row) =>
        JSON.parse(row.details!),
      ),
    ).toEqual([
      expect.objectContaining({ factor: 'passkey', name: 'My phone', patientNotified: true }),
      expect.objectContaining({ factor: 'passkey', name: 'Laptop', patientNotified: true }),
    ]);
  });

  it('refuses a registration without its challenge, a replayed one and the same authenticator twice: nothing is stored', async () => {
    const patient = await activatedPatient();
    const { agent } = await password(patient.username);
    const authenticator = new SoftwareAuthenticator(origin);
    // No options asked first: no challenge in the session.
    const options = await json(agent, `${ENROL}/passkeys/options`).expect(200);
    const response = authenticator.register(options.body);
    await json(agent, `${ENROL}/passkeys`, { name: 'Phone', response }).expect(200);
    // The same answer again: its challenge was used up.
    const replay = await json(agent, `${ENROL}/passkeys`, { name: 'Phone', response });
    expect(replay.status).toBe(400);
    expect(replay.body.message).toBe('The passkey request expired. Try again.');
    // A fresh challenge but the answer to an old one.
    await json(agent, `${ENROL}/passkeys/options`).expect(200);
    const stale = await json(agent, `${ENROL}/passkeys`, { name: 'Phone', response: authenticator.register(options.body) });
    expect(stale.status).toBe(400);
    expect(stale.body.message).toBe('The passkey could not be added. Try again.');
    // The same credential twice (a browser that ignored excludeCredentials).
    const again = await json(agent, `${ENROL}/passkeys/options`).expect(200);
    expect(again.body.excludeCredentials).toEqual([expect.objectContaining({ id: response.id })]);
    const twin = await json(agent, `${ENROL}/passkeys`, {
      name: 'Twin',
      response: authenticator.register(again.body, response.id),
    });
    expect(twin.status).toBe(400);
    expect(twin.body.message).toBe('This passkey is already registered.');
    // A name is required; a body that is not one is refused.
    await json(agent, `${ENROL}/passkeys/options`).expect(200);
    expect((await json(agent, `${ENROL}/passkeys`, { name: ' ', response: {} })).status).toBe(400);
    expect(await passkeyCount(patient.id)).toBe(1);
  });

  it('asks for the passkey after the password; a wrong answer counts with sign-in failures; the right one signs in', async () => {
    const patient = await activatedPatient();
    const authenticator = new SoftwareAuthenticator(origin);
    await addPasskey((await password(patient.username)).agent, authenticator, 'Phone');

    const { agent, location } = await password(patient.username);
    expect(location).toBe('/portal/login/second-step');
    const step = await agent.get(location).expect(200);
    expect(step.text).toContain('Use a passkey');
    // Half signed in: the account page does not open.
    await agent.get('/portal/account').expect(303);

    // Another authenticator's signature over the right challenge is refused and counted.
    const options = await json(agent, '/portal/login/second-step/passkey/options').expect(200);
    const impostor = new SoftwareAuthenticator(origin);
    impostor.register({ ...options.body, rp: { id: new URL(origin).hostname, name: 'x' }, user: {} } as never);
    const forged = await json(agent, '/portal/login/second-step/passkey', {
      response: impostor.assert(options.body, impostor.credentialIds[0]),
    });
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe('The passkey was not accepted. Try again, or enter a code.');
    expect(await failedCount(patient.id)).toBe(1);

    const right = await passkeyStep(agent, authenticator);
    expect(right.status).toBe(200);
    expect(right.body).toEqual({ redirect: '/portal' });
    await agent.get('/portal').expect(200);
    expect(await failedCount(patient.id)).toBe(0);
    const [signIn] = (
      await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.sign_in' AND outcome = 'success'", [patient.id])
    ).slice(-1);
    expect(JSON.parse(signIn.details!)).toEqual({ factor: 'passkey' });
    const [{ last_used_at: lastUsed }] = await t.dataSource.query(
      'SELECT last_used_at FROM portal_passkeys WHERE account_id = ?',
      [patient.id],
    );
    expect(lastUsed).not.toBeNull();
    // The passkey options are only for a half-signed-in session.
    const stranger = request.agent(t.server) as Agent;
    stranger.csrf = csrfTokenOf((await stranger.get('/portal/login').expect(200)).text);
    expect((await json(stranger, '/portal/login/second-step/passkey/options')).status).toBe(401);
  });

  it('removes a passkey only with the password re-entered (a wrong one counts), tells the patient, and drops the codes with the last factor', async () => {
    const patient = await activatedPatient();
    const { agent } = await password(patient.username);
    await addPasskey(agent, new SoftwareAuthenticator(origin), 'Old phone');
    await addPasskey(agent, new SoftwareAuthenticator(origin), 'New phone');
    const [oldId, newId] = (
      await t.dataSource.query('SELECT id FROM portal_passkeys WHERE account_id = ? ORDER BY id', [patient.id])
    ).map((row: { id: number }) => Number(row.id));
    const remove = (id: number, currentPassword: string) =>
      agent.post(`${ENROL}/passkeys/${id}/remove`).type('form').send({ _csrf: agent.csrf, currentPassword });

    const wrong = await remove(oldId, 'not my password at all');
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('That is not your password.');
    expect(await failedCount(patient.id)).toBe(1);
    expect((await remove(oldId, '')).text).toContain('Enter your password to remove the passkey.');
    expect(await passkeyCount(patient.id)).toBe(2);

    let before = smtp.received.length;
    await remove(oldId, PASSWORD).expect(303).expect('Location', ENROL);
    // The right password is not counted; the wrong one before it still is (until a sign-in succeeds).
    expect(await failedCount(patient.id)).toBe(1);
    const removed = await mailTo(patient.email!, before, /removed/);
    expect(removed.text).toContain('A passkey named “Old phone” was removed from your Patient Portal account on');
    expect(removed.text).not.toContain('asks only for your password');
    expect((await agent.get(ENROL).expect(200)).text).toContain('The passkey “Old phone” was removed.');

    // Another patient cannot remove it: the account comes from the session, not the id.
    const other = await activatedPatient('Otro');
    const otherAgent = (await password(other.username)).agent;
    await otherAgent
      .post(`${ENROL}/passkeys/${newId}/remove`)
      .type('form')
      .send({ _csrf: otherAgent.csrf, currentPassword: PASSWORD })
      .expect(404);
    expect(await passkeyCount(patient.id)).toBe(1);

    before = smtp.received.length;
    await remove(newId, PASSWORD).expect(303);
    const last = await mailTo(patient.email!, before, /removed/);
    expect(last.text).toContain('Signing in now asks only for your password.');
    const [{ n: codes }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_recovery_codes WHERE account_id = ?', [
      patient.id,
    ]);
    expect(Number(codes)).toBe(0);
    expect((await password(patient.username)).location).toBe('/portal');
  });

  it('tells a Spanish-speaking patient in Spanish', async () => {
    const patient = await activatedPatient('Lucía');
    await t.dataSource.query("UPDATE patients SET preferred_language = 'es' WHERE id = ?", [patient.id]);
    const before = smtp.received.length;
    const { agent } = await password(patient.username);
    expect((await addPasskey(agent, new SoftwareAuthenticator(origin), 'Mi teléfono')).status).toBe(200);
    const notice = await mailTo(patient.email!, before, /Se agregó/);
    expect(notice.text).toContain('Se agregó una llave de acceso llamada «Mi teléfono» a su cuenta del Portal del Paciente');
    // The page itself, in a Spanish browser: passkeys and the authenticator app's set-up.
    const page = await agent.get(ENROL).set('Accept-Language', 'es').expect(200);
    expect(page.text).toContain('Llaves de acceso');
    expect(page.text).toContain('Su contraseña, para quitar «Mi teléfono»');
    expect(page.text).toContain('Escanee este código QR con la aplicación:');
    expect(page.text).toContain('data-msg-follow="Siga las indicaciones de su navegador para crear la llave de acceso…"');
  });

  it('under "require", a passkey is a second factor: it completes the enrolment, and the last one cannot be removed', async () => {
    const admin = await signInAs(t, 'admin');
    const setPolicy = (value: 'offer' | 'require') =>
      admin.post('/admin/security/patients').type('form').send({ _csrf: admin.csrf, patientSecondFactor: value }).expect(303);
    await setPolicy('require');
    try {
      const patient = await activatedPatient();
      const { agent, location } = await password(patient.username);
      expect(location).toBe(ENROL);
      await agent.get('/portal').expect(303).expect('Location', ENROL);
      const authenticator = new SoftwareAuthenticator(origin);
      expect((await addPasskey(agent, authenticator, 'Phone')).status).toBe(200);
      await agent.get('/portal').expect(200);

      const [{ id }] = await t.dataSource.query('SELECT id FROM portal_passkeys WHERE account_id = ?', [patient.id]);
      const page = await agent.get(ENROL).expect(200);
      expect(page.text).not.toContain(`/passkeys/${id}/remove`);
      await agent
        .post(`${ENROL}/passkeys/${id}/remove`)
        .type('form')
        .send({ _csrf: agent.csrf, currentPassword: PASSWORD })
        .expect(409);
      expect(await passkeyCount(patient.id)).toBe(1);

      // With an authenticator app too, either one may go.
      await awayFromStepBoundary();
      const secret = totpSecretOf(page.text);
      await agent
        .post(`${ENROL}/totp`)
        .type('form')
        .send({ _csrf: agent.csrf, code: await totpCode(secret, -1) })
        .expect(303);
      await agent
        .post(`${ENROL}/passkeys/${id}/remove`)
        .type('form')
        .send({ _csrf: agent.csrf, currentPassword: PASSWORD })
        .expect(303);
      // The next sign-in asks for the app's code: the patient still has a second factor.
      expect((await password(patient.username)).location).toBe('/portal/login/second-step');
    } finally {
      await setPolicy('offer');
    }
  });
});
