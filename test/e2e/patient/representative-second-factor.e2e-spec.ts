import request from 'supertest';
import { MAX_FAILED_SIGN_INS } from '../../../src/auth/lockout/attempt-lock';
import { PasswordHasher } from '../../../src/auth/passwords/password-hasher.service';
import { usernameKey } from '../../../src/portal-access/usernames';
import { csrfTokenOf } from '../../support/html';
import { nextMailTo, type PortalAgent, portalJson, portalPasswordStep } from '../../support/portal-account';
import { SoftwareAuthenticator } from '../../support/passkeys';
import { createActivatedPatient, createPortalPatient } from '../../support/portal-patients';
import { addRepresentative } from '../../support/representatives';
import { awayFromStepBoundary, recoveryCodesOf, totpCode, totpSecretOf } from '../../support/second-factor';
import { auditActions } from '../../support/sessions';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PASSWORD = 'juniper harbour lantern season';
const ENROL = '/portal/account/second-factor';
type Agent = PortalAgent;

describe("a representative's own second factor, language and passkey names (issue 21)", () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let origin: string;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url });
    staff = await signInAs(t);
    origin = new URL(t.config.publicBaseUrl).origin;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  let sequence = 0;
  /** A representative of a new patient whose own account has a username and password (set directly: the invite is tested elsewhere). */
  async function representative(overrides: Record<string, string> = {}) {
    const n = ++sequence;
    const patient = await createPortalPatient(t, { firstName: 'Ife', lastName: `Okafor${n}` });
    const rep = await addRepresentative(t, staff, patient.id, { fullName: `Chidi Okafor${n}`, ...overrides });
    const username = `chidi.rep${n}`;
    await t.dataSource.query(
      'UPDATE representative_accounts SET username = ?, username_key = ?, password_hash = ? WHERE id = ?',
      [username, usernameKey(username), await t.app.get(PasswordHasher).hash(PASSWORD), rep.accountId],
    );
    return { patient, rep, username };
  }

  const password = (username: string) => portalPasswordStep(t, username, PASSWORD);
  const json = portalJson;

  /** Turns on an authenticator app from the second-factor page (confirmed with the previous step's code). */
  async function enrolTotp(agent: Agent): Promise<{ secret: string; recoveryCodes: string[] }> {
    await awayFromStepBoundary();
    const page = await agent.get(ENROL).expect(200);
    const secret = totpSecretOf(page.text);
    const res = await agent
      .post(`${ENROL}/totp`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), code: await totpCode(secret, -1) })
      .expect(303);
    const codes = await agent.get(String(res.headers.location)).expect(200);
    return { secret, recoveryCodes: recoveryCodesOf(codes.text) };
  }

  async function secondStep(agent: Agent, code: string) {
    const page = await agent.get('/portal/login/second-step').expect(200);
    return agent
      .post('/portal/login/second-step')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), code });
  }

  const mailTo = (address: string, before: number, subject: RegExp) => nextMailTo(t, smtp, address, before, subject);

  const failedCount = async (accountId: number) =>
    Number(
      (await t.dataSource.query('SELECT failed_login_count FROM representative_accounts WHERE id = ?', [accountId]))[0]
        .failed_login_count,
    );
  const proxyActions = (accountId: number, where: string) =>
    auditActions(t.dataSource, `actor_type = 'proxy' AND actor_id = ? AND ${where}`, [accountId]);

  it('sets up an authenticator app, is told by email, then signs in with a code; a wrong code counts with their own lockout', async () => {
    const { rep, username } = await representative();
    const { agent } = await password(username);
    const account = await agent.get('/portal/account').expect(200);
    expect(account.text).toContain('href="/portal/account/second-factor"');
    const before = smtp.received.length;
    const { secret, recoveryCodes } = await enrolTotp(agent);
    expect(recoveryCodes).toHaveLength(10);
    const added = await mailTo(rep.email, before, /sign-in step was added/);
    expect(added.text).toContain('Chidi');
    expect(added.text).not.toMatch(/https?:\/\/\S+\/portal\/link/);
    expect(await proxyActions(rep.accountId, "action = 'representative.second_factor_added'")).toHaveLength(1);
    // The patient's own tables stay empty: the representative's factor is theirs alone.
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_totp'))[0].n)).toBe(0);

    // The next sign-in asks for the second step; the home stays closed until it is done.
    const next = await password(username);
    expect(next.location).toBe('/portal/login/second-step');
    expect((await next.agent.get('/portal').expect(303)).headers.location).toMatch(/^\/portal\/login/);
    const wrong = await secondStep(next.agent, '000000');
    expect(wrong.status).toBe(401);
    expect(await failedCount(rep.accountId)).toBe(1);
    const [failure] = await proxyActions(rep.accountId, "action = 'representative.sign_in' AND outcome = 'failure'");
    expect(JSON.parse(failure.details!)).toMatchObject({ reason: 'wrong_code', failures: 1 });
    const right = await secondStep(next.agent, await totpCode(secret));
    expect(right.status).toBe(303);
    expect(await failedCount(rep.accountId)).toBe(0);
    const home = await next.agent.get('/portal').expect(200);
    expect(home.text).toContain('Chidi');
    const [signedIn] = (await proxyActions(rep.accountId, "action = 'representative.sign_in' AND outcome = 'success'")).slice(-1);
    expect(JSON.parse(signedIn.details!)).toEqual({ factor: 'totp' });

    // A recovery code signs in once and tells them; their history says so.
    const third = await password(username);
    const beforeCode = smtp.received.length;
    expect((await secondStep(third.agent, recoveryCodes[0])).status).toBe(303);
    const used = await mailTo(rep.email, beforeCode, /recovery code was used/);
    expect(used.text).toContain('9');
    const fourth = await password(username);
    expect((await secondStep(fourth.agent, recoveryCodes[0])).status).toBe(401);
    const history = await third.agent.get('/portal/account').expect(200);
    expect(history.text).toContain('You added an authenticator app as a second sign-in step.');
    expect(history.text).toMatch(/recovery code/);

    // Removing it is told too.
    const page = await third.agent.get(ENROL).expect(200);
    const beforeRemove = smtp.received.length;
    await third.agent
      .post(`${ENROL}/totp/remove`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) })
      .expect(303);
    await mailTo(rep.email, beforeRemove, /sign-in step was removed/);
    expect((await password(username)).location).toBe('/portal');
  });

  it('wrong codes lock the representative’s sign-in like wrong passwords, and the lock is told at their address', async () => {
    const { rep, username } = await representative();
    const { agent } = await password(username);
    await enrolTotp(agent);
    const { agent: pending } = await password(username);
    const before = smtp.received.length;
    let last: request.Response | undefined;
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) last = await secondStep(pending, '000000');
    expect(last!.status).toBe(401);
    expect(last!.text).toMatch(/locked/i);
    await mailTo(rep.email, before, /sign-in was locked/);
    expect(await proxyActions(rep.accountId, "action = 'representative.locked_out'")).toHaveLength(1);
    // Locked: even the right password is refused now.
    const login = request.agent(t.server);
    const form = await login.get('/portal/login').expect(200);
    const refused = await login
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username, password: PASSWORD });
    expect(refused.status).not.toBe(303);
  });

  it('adds a passkey (the software authenticator), signs in with it, renames it (audited, in their history) and removes it with the password', async () => {
    const { rep, username } = await representative();
    const { agent } = await password(username);
    agent.csrf = csrfTokenOf((await agent.get(ENROL).expect(200)).text);
    const authenticator = new SoftwareAuthenticator(origin);
    const before = smtp.received.length;
    const options = await json(agent, `${ENROL}/passkeys/options`).expect(200);
    const added = await json(agent, `${ENROL}/passkeys`, { name: 'My phone', response: authenticator.register(options.body) });
    expect(added.status).toBe(200);
    expect(added.body.redirect).toBe(`${ENROL}/recovery-codes`);
    await mailTo(rep.email, before, /sign-in step was added/);
    const [row] = await t.dataSource.query('SELECT id, name FROM representative_passkeys WHERE account_id = ?', [rep.accountId]);
    expect(row.name).toBe('My phone');

    const { agent: pending, location } = await password(username);
    expect(location).toBe('/portal/login/second-step');
    const signIn = await json(pending, '/portal/login/second-step/passkey/options').expect(200);
    const answered = await json(pending, '/portal/login/second-step/passkey', { response: authenticator.assert(signIn.body) });
    expect(answered.status).toBe(200);
    await pending.get('/portal').expect(200);

    const page = await pending.get(ENROL).expect(200);
    const invalid = await pending
      .post(`${ENROL}/passkeys/${row.id}/name`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), name: '   ' });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toContain('Give the passkey a name of 1 to 100 characters');
    await pending
      .post(`${ENROL}/passkeys/${row.id}/name`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), name: '  Work laptop ' })
      .expect(303)
      .expect('Location', ENROL);
    expect((await pending.get(ENROL).expect(200)).text).toContain('The passkey “My phone” is now called “Work laptop”.');
    const [renamed] = await proxyActions(rep.accountId, "action = 'representative.passkey_renamed'");
    expect(JSON.parse(renamed.details!)).toMatchObject({ from: 'My phone', name: 'Work laptop' });
    expect((await pending.get('/portal/account').expect(200)).text).toContain(
      'You renamed the passkey “My phone” to “Work laptop”.',
    );
    // Another account's passkey id is not theirs to rename.
    const other = await representative();
    const { agent: stranger } = await password(other.username);
    const strangerPage = await stranger.get(ENROL).expect(200);
    const refused = await stranger
      .post(`${ENROL}/passkeys/${row.id}/name`)
      .type('form')
      .send({ _csrf: csrfTokenOf(strangerPage.text), name: 'Mine now' });
    expect(refused.status).toBe(404);

    const manage = await pending.get(ENROL).expect(200);
    const beforeRemove = smtp.received.length;
    await pending
      .post(`${ENROL}/passkeys/${row.id}/remove`)
      .type('form')
      .send({ _csrf: csrfTokenOf(manage.text), currentPassword: PASSWORD })
      .expect(303);
    await mailTo(rep.email, beforeRemove, /sign-in step was removed/);
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM representative_passkeys'))[0].n)).toBe(0);
  });

  it('a patient renames their passkey too: validated, audited on the patient, shown in their history', async () => {
    const patient = await createActivatedPatient(t, PASSWORD, { prefix: 'paz', firstName: 'Paz' });
    const { agent } = await password(patient.username);
    agent.csrf = csrfTokenOf((await agent.get(ENROL).expect(200)).text);
    const authenticator = new SoftwareAuthenticator(origin);
    const options = await json(agent, `${ENROL}/passkeys/options`).expect(200);
    await json(agent, `${ENROL}/passkeys`, { name: 'Tablet', response: authenticator.register(options.body) }).expect(200);
    const [row] = await t.dataSource.query('SELECT id FROM portal_passkeys WHERE account_id = ?', [patient.id]);
    const page = await agent.get(ENROL).expect(200);
    const tooLong = await agent
      .post(`${ENROL}/passkeys/${row.id}/name`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), name: 'x'.repeat(101) });
    expect(tooLong.status).toBe(400);
    await agent
      .post(`${ENROL}/passkeys/${row.id}/name`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), name: 'Kitchen tablet' })
      .expect(303);
    const [renamed] = await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.passkey_renamed'", [patient.id]);
    expect(JSON.parse(renamed.details!)).toMatchObject({ from: 'Tablet', name: 'Kitchen tablet' });
    expect((await agent.get('/portal/account').expect(200)).text).toContain(
      'You renamed the passkey “Tablet” to “Kitchen tablet”.',
    );
    // The same name again changes nothing and records nothing.
    await agent
      .post(`${ENROL}/passkeys/${row.id}/name`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), name: 'Kitchen tablet' })
      .expect(303);
    expect(await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.passkey_renamed'", [patient.id])).toHaveLength(
      1,
    );
  });

  it('under the admin policy "require", a representative without a factor sets one up right after the password', async () => {
    const admin = await signInAs(t, 'admin');
    await admin
      .post('/admin/security/patients')
      .type('form')
      .send({ _csrf: admin.csrf, patientSecondFactor: 'require' })
      .expect(303);
    try {
      const { username } = await representative();
      const { agent, location } = await password(username);
      expect(location).toBe(ENROL);
      await agent.get('/portal').expect(303).expect('Location', ENROL);
      await agent.get('/portal/account').expect(303).expect('Location', ENROL);
      expect((await agent.get(ENROL).expect(200)).text).toContain(
        'asks every patient and representative to add a second sign-in step',
      );
      await enrolTotp(agent);
      await agent.get('/portal').expect(200);
      const manage = await agent.get(ENROL).expect(200);
      expect(manage.text).not.toContain('/totp/remove');
    } finally {
      await admin
        .post('/admin/security/patients')
        .type('form')
        .send({ _csrf: admin.csrf, patientSecondFactor: 'offer' })
        .expect(303);
    }
  });

  it('emails follow the representative’s own language (set by staff, or by the portal switch), else the patient’s, else English', async () => {
    // Set by staff: the invite is in Spanish although the patient has no language.
    const spanish = await representative({ language: 'es' });
    expect(
      (await t.dataSource.query('SELECT language FROM representative_accounts WHERE id = ?', [spanish.rep.accountId]))[0]
        .language,
    ).toBe('es');
    let before = smtp.received.length;
    await staff
      .post(`/patients/${spanish.patient.id}/representatives/${spanish.rep.id}/invite`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .expect(303);
    expect((await mailTo(spanish.rep.email, before, /./)).subject).toMatch(/Portal del Paciente/);

    // No own language: the patient's.
    const follows = await representative();
    await t.dataSource.query("UPDATE patients SET preferred_language = 'es' WHERE id = ?", [follows.patient.id]);
    const { agent } = await password(follows.username);
    const page = await agent.get('/portal/account/password').expect(200);
    before = smtp.received.length;
    const NEW = 'cobalt orchard quietly drifting';
    await agent
      .post('/portal/account/password')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), currentPassword: PASSWORD, newPassword: NEW, confirmPassword: NEW })
      .expect(303);
    expect((await mailTo(follows.rep.email, before, /./)).subject).toBe(
      'Se cambió la contraseña de su Portal del Paciente de Demo Clinic',
    );

    // The portal switch, used while signed in, becomes their own language: the next notice is in English.
    await agent.get('/portal/language/en?next=/portal/account').expect(303);
    expect(
      (await t.dataSource.query('SELECT language FROM representative_accounts WHERE id = ?', [follows.rep.accountId]))[0]
        .language,
    ).toBe('en');
    expect(await proxyActions(follows.rep.accountId, "action = 'representative.language_changed'")).toHaveLength(1);
    before = smtp.received.length;
    await enrolTotp(agent);
    expect((await mailTo(follows.rep.email, before, /./)).subject).toBe(
      'A sign-in step was added to your Demo Clinic Patient Portal account',
    );

    // Staff edit it back to "the patient's" (empty): Spanish again.
    const tab = await staff.get(`/patients/${follows.patient.id}?tab=portal`).expect(200);
    const [rep] = await t.dataSource.query('SELECT * FROM patient_representatives WHERE id = ?', [follows.rep.id]);
    const edited = await staff
      .post(`/patients/${follows.patient.id}/representatives/${follows.rep.id}/edit`)
      .type('form')
      .send({
        _csrf: csrfTokenOf(tab.text),
        fullName: rep.full_name,
        relationship: rep.relationship,
        email: rep.email,
        phone: rep.phone ?? '',
        basis: rep.basis,
        startsOn: rep.starts_on,
        endsOn: '',
        language: '',
        confirm: 'yes',
        reason: 'They asked for the patient’s language',
        version: String(rep.version),
      });
    expect(edited.status).toBe(303);
    expect(
      (await t.dataSource.query('SELECT language FROM representative_accounts WHERE id = ?', [follows.rep.accountId]))[0]
        .language,
    ).toBeNull();
    // A language the portal does not offer is refused on the form.
    const refused = await staff
      .post(`/patients/${follows.patient.id}/representatives`)
      .type('form')
      .send({
        _csrf: staff.csrf,
        fullName: 'Dana Other',
        relationship: 'adult_caregiver',
        email: `dana.other.${Date.now()}@family.test`,
        basis: 'Signed authorisation form, scanned to chart',
        startsOn: '2020-01-01',
        language: 'fr',
        confirm: 'yes',
        reason: 'Caregiver asked for access',
      });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('Choose a language the portal offers');
  });
});
