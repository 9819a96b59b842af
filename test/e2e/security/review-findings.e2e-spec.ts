import request from 'supertest';
import { MAX_FAILED_SIGN_INS } from '../../../src/auth/lockout/attempt-lock';
import { PasswordHasher } from '../../../src/auth/passwords/password-hasher.service';
import { storedSessionId } from '../../../src/auth/session.setup';
import { MAX_BODY_DEPTH } from '../../../src/common/forbidden-keys';
import { PortalAccountsRepository } from '../../../src/portal-access/portal-accounts.repository';
import { FORGOT_PASSWORD_ANSWER_MS, PatientAccountsService } from '../../../src/portal/patient-accounts.service';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient } from '../../support/portal-patients';
import { auditActions } from '../../support/sessions';
import { createStaffUser, signIn, signInAs, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PATIENT_PASSWORD = 'copper meadow lantern thistle';
const sessionRows = async (t: TestApp) =>
  Number(
    (await t.dataSource.query('SELECT (SELECT COUNT(*) FROM staff_sessions) + (SELECT COUNT(*) FROM patient_sessions) AS n'))[0]
      .n,
  );

/** The outside review's low and informational findings, each reproduced against the running app. */
describe('the outside review’s smaller findings', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  async function activatedPatient() {
    const username = `finding.${Date.now() % 1_000_000}`;
    const patient = await createPortalPatient(t, { username });
    const hash = await t.app.get(PasswordHasher).hash(PATIENT_PASSWORD);
    await t.dataSource.query('UPDATE portal_accounts SET password_hash = ? WHERE patient_id = ?', [hash, patient.id]);
    return { ...patient, username };
  }
  async function portalSignIn(username: string) {
    const agent = request.agent(t.server);
    const page = await agent.get('/portal/login').expect(200);
    const res = await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username, password: PATIENT_PASSWORD });
    return { agent, res };
  }

  it('forgot-password answers after a fixed time and never waits for the work, so an existing account cannot be told by timing', async () => {
    const patient = await activatedPatient();
    const agent = request.agent(t.server);
    const page = await agent.get('/portal/forgot-password').expect(200);
    const forgot = (identifier: string) =>
      agent
        .post('/portal/forgot-password')
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), identifier })
        .expect(303);
    const queued = async () =>
      Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ?', [patient.id]))[0].n);

    // The account lookup (what differs between a real and an unknown account) is held until the answer is in.
    // Padding the work to a fixed time (the first fix) waited for it and never answered here.
    const accountsRepository = t.app.get(PortalAccountsRepository);
    const lookUp = accountsRepository.resetTargets.bind(accountsRepository);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const spy = jest.spyOn(accountsRepository, 'resetTargets').mockImplementation(async (...args) => {
      await held;
      return lookUp(...args);
    });
    try {
      const answer = await Promise.race([
        forgot(patient.username).then(() => 'answered'),
        new Promise((resolve) => setTimeout(() => resolve('waited for the work'), 10_000)),
      ]);
      expect(answer).toBe('answered');
      expect(await queued()).toBe(0);
    } finally {
      release();
      spy.mockRestore();
    }
    await t.app.get(PatientAccountsService).resetsSettled();
    expect(await queued()).toBe(1);

    // Both kinds of answer take at least the fixed time (a lower bound only: timings under load are no test).
    for (const identifier of [patient.username, 'nobody.at.all']) {
      const started = process.hrtime.bigint();
      await forgot(identifier);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(FORGOT_PASSWORD_ANSWER_MS - 5);
    }
    await t.app.get(PatientAccountsService).resetsSettled();
  });

  it('routes are case-sensitive: POST /PORTAL/login never puts a patient into the staff cookie', async () => {
    const patient = await activatedPatient();
    const agent = request.agent(t.server);
    const page = await agent.get('/portal/login').expect(200);
    const res = await agent
      .post('/PORTAL/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username: patient.username, password: PATIENT_PASSWORD });
    expect(res.status).toBe(404);
    expect(String(res.headers['set-cookie'] ?? '')).not.toMatch(/staff\.sid=/);
    expect((await request(t.server).get('/Login')).status).toBe(404);
    expect(await auditActions(t.dataSource, "action = 'patient.sign_in' AND patient_id = ?", [patient.id])).toEqual([]);
  });

  it('ends a patient session PATIENT_ABSOLUTE_HOURS after sign-in even while it is in use', async () => {
    const patient = await activatedPatient();
    const { agent, res } = await portalSignIn(patient.username);
    expect(res.status).toBe(303);
    await agent.get('/portal').expect(200);
    const sid = storedSessionId(
      decodeURIComponent(/portal\.sid=([^;]+)/.exec(String(res.headers['set-cookie']))![1])
        .replace(/^s:/, '')
        .split('.')[0],
    );
    const [row] = await t.dataSource.query('SELECT sess FROM patient_sessions WHERE sid = ?', [sid]);
    const sess = typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess;
    sess.signedInAt = Date.now() - (t.config.patientAbsoluteHours * 3_600_000 + 1000);
    sess.lastActivityAt = Date.now();
    await t.dataSource.query('UPDATE patient_sessions SET sess = ? WHERE sid = ?', [JSON.stringify(sess), sid]);
    await agent
      .get('/portal')
      .expect(303)
      .expect('Location', /\/portal\/login/);
    expect(t.config.patientAbsoluteHours).toBe(12);
  });

  it('counts wrong current passwords on /account/password with sign-in failures: 40 parallel guesses, at most 5 evaluated, then locked', async () => {
    const user = await createStaffUser(t);
    const agent = await signIn(t, user.email, user.password);
    const guesses = await Promise.all(
      Array.from({ length: 40 }, (_unused, i) =>
        agent
          .post('/account/password')
          .type('form')
          .send({
            _csrf: agent.csrf,
            currentPassword: `wrong guess number ${i}`,
            newPassword: 'a brand new passphrase for me',
            confirmPassword: 'a brand new passphrase for me',
          }),
      ),
    );
    expect(guesses.every((res) => res.status === 400)).toBe(true);
    const evaluated = (await auditActions(t.dataSource, "actor_id = ? AND action = 'staff.password_changed'", [user.id])).filter(
      (e) => /wrong_current_password/.test(e.details ?? ''),
    );
    expect(evaluated.length).toBeLessThanOrEqual(MAX_FAILED_SIGN_INS);
    const [row] = await t.dataSource.query('SELECT locked_until FROM staff_users WHERE id = ?', [user.id]);
    expect(row.locked_until).not.toBeNull();
    const right = await agent.post('/account/password').type('form').send({
      _csrf: agent.csrf,
      currentPassword: user.password,
      newPassword: 'a brand new passphrase for me',
      confirmPassword: 'a brand new passphrase for me',
    });
    expect(right.status).toBe(400);
    expect(right.text).toContain('locked');
  });

  it('anonymous visits store no session, and every form, sign-in included, still needs its CSRF token', async () => {
    const before = await sessionRows(t);
    for (let i = 0; i < 25; i++) {
      await request(t.server).get('/login').expect(200);
      await request(t.server).get('/portal/login').expect(200);
      await request(t.server).get('/portal/forgot-password').expect(200);
      await request(t.server).get('/');
    }
    expect(await sessionRows(t)).toBe(before);

    const user = await createStaffUser(t);
    const noToken = await request(t.server).post('/login').type('form').send({ email: user.email, password: user.password });
    expect(noToken.status).toBe(403);
    // A token from another visitor's page (another nonce cookie) does not work either.
    const other = await request.agent(t.server).get('/login');
    const agent = request.agent(t.server);
    await agent.get('/login').expect(200);
    expect(
      (
        await agent
          .post('/login')
          .type('form')
          .send({ _csrf: csrfTokenOf(other.text), email: user.email, password: user.password })
      ).status,
    ).toBe(403);
    // The real form works and only then is a session stored.
    const signedIn = await signIn(t, user.email, user.password);
    expect(await sessionRows(t)).toBe(before + 1);
    // Signed in, the anonymous kind of token is refused: only the session's own token counts.
    const anonymousPage = await signedIn.get('/account/password').expect(200);
    expect(csrfTokenOf(anonymousPage.text)).not.toMatch(/^a\./);
    expect(
      (
        await signedIn
          .post('/logout')
          .type('form')
          .send({ _csrf: csrfTokenOf(other.text) })
      ).status,
    ).toBe(403);
  });

  it('exports quote cells holding , ; or a tab and escape a formula start after each separator', async () => {
    await createPortalPatient(t, { firstName: 'Baker;=1+2;', lastName: 'Semicolonsplit' });
    const agent = await signInAs(t);
    const csv = (await agent.get('/portal-onboarding/export.csv?q=Semicolonsplit').expect(200)).text;
    const line = csv.split('\n').find((row) => row.includes('Semicolonsplit'))!;
    expect(line).toContain('"Baker;\'=1+2;"');
    expect(line).not.toMatch(/(^|[,;\t])=1\+2/);
  });

  it('keeps only a hash of each session id in the sessions table', async () => {
    const agent = await signInAs(t);
    const cookie = (await agent.jar.getCookie('staff.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false }))!
      .value;
    const sid = decodeURIComponent(cookie).replace(/^s:/, '').split('.')[0];
    const rows: Array<{ sid: string }> = await t.dataSource.query('SELECT sid FROM staff_sessions');
    expect(rows.some((row) => row.sid === sid)).toBe(false);
    expect(rows.some((row) => row.sid === storedSessionId(sid))).toBe(true);
  });

  it('dates a signed-in session’s row by the idle timeout, so the store purges an abandoned one soon (not after the absolute lifetime)', async () => {
    const agent = await signInAs(t);
    const cookie = (await agent.jar.getCookie('staff.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false }))!
      .value;
    const stored = storedSessionId(decodeURIComponent(cookie).replace(/^s:/, '').split('.')[0]);
    const [row] = await t.dataSource.query('SELECT expired FROM staff_sessions WHERE sid = ?', [stored]);
    const expired = new Date(
      row.expired instanceof Date ? row.expired : String(row.expired).replace(' ', 'T').replace(/(\d)$/, '$1Z'),
    ).getTime();
    expect(expired).toBeLessThanOrEqual(Date.now() + (t.config.staffIdleMinutes + 2) * 60_000);
    expect(expired).toBeGreaterThan(Date.now() + (t.config.staffIdleMinutes - 1) * 60_000);
    await agent.get('/account/password').expect(200);
  });

  it('answers an htmx request with a garbage HX-Current-URL with a sign-in redirect, not a 500', async () => {
    const res = await request(t.server).get('/portal-onboarding').set('HX-Request', 'true').set('HX-Current-URL', '::');
    expect(res.status).toBe(401);
    expect(res.headers['hx-redirect']).toBe('/login?next=%2F');
  });

  it(`refuses JSON bodies nested deeper than ${MAX_BODY_DEPTH} levels outright`, async () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < MAX_BODY_DEPTH + 5; i++) deep = { a: deep };
    const agent = await signInAs(t, 'admin');
    const res = await agent.post('/admin/users').set('X-CSRF-Token', agent.csrf).send(deep);
    expect(res.status).toBe(400);
    expect(res.text).toContain('not allowed');
  });

  it('refuses an email address with a control character', async () => {
    const agent = await signInAs(t, 'admin');
    const res = await agent
      .post('/admin/users')
      .type('form')
      .send({ _csrf: agent.csrf, email: '"x\u000by"@clinic.test', name: 'Control Character', role: 'staff' });
    expect(res.status).toBe(400);
    expect(await t.dataSource.query("SELECT id FROM staff_users WHERE name = 'Control Character'")).toEqual([]);
  });

  it('refuses state-changing requests that a browser says came from another site', async () => {
    const agent = await signInAs(t);
    const form = { _csrf: agent.csrf, currentPassword: STAFF_PASSWORD, newPassword: 'x', confirmPassword: 'x' };
    expect((await agent.post('/account/password').set('Origin', 'https://evil.test').type('form').send(form)).status).toBe(403);
    expect((await agent.post('/account/password').set('Sec-Fetch-Site', 'cross-site').type('form').send(form)).status).toBe(403);
    expect(
      (await agent.post('/account/password').set('Origin', 'null').set('Sec-Fetch-Site', 'same-site').type('form').send(form))
        .status,
    ).toBe(403);
    // "null" alone is what browsers send under our no-referrer policy: Sec-Fetch-Site decides then.
    expect(
      (await agent.post('/account/password').set('Origin', 'null').set('Sec-Fetch-Site', 'same-origin').type('form').send(form))
        .status,
    ).toBe(400);
    // The same site (or a client that sends neither header) reaches the form's own checks.
    const port = (t.server.address() as { port: number }).port;
    expect(
      (
        await agent
          .post('/account/password')
          .set('Origin', `http://127.0.0.1:${port}`)
          .set('Sec-Fetch-Site', 'same-origin')
          .type('form')
          .send(form)
      ).status,
    ).toBe(400);
    expect((await agent.post('/account/password').type('form').send(form)).status).toBe(400);
  });
});

describe('one sign-in budget per client IP across the sign-in forms', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SIGN_IN_ATTEMPTS_PER_MINUTE: '3' });
  });
  afterAll(async () => t.close());

  it('counts staff and patient sign-in attempts against the same limit', async () => {
    if (Date.now() % 60_000 > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 50));
    const post = async (path: string, form: Record<string, string>) => {
      const agent = request.agent(t.server);
      const page = await agent.get(path);
      return (
        await agent
          .post(path)
          .type('form')
          .send({ _csrf: csrfTokenOf(page.text), ...form })
      ).status;
    };
    const statuses = [
      await post('/login', { email: 'a@clinic.test', password: 'some wrong password' }),
      await post('/portal/login', { username: 'someone', password: 'some wrong password' }),
      await post('/login', { email: 'b@clinic.test', password: 'some wrong password' }),
      await post('/portal/login', { username: 'someone', password: 'some wrong password' }),
    ];
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('answers a throttled real account exactly as a throttled unknown one (SECURITY.md §11)', async () => {
    if (Date.now() % 60_000 > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 50));
    const user = await createStaffUser(t);
    const post = async (email: string) => {
      const agent = request.agent(t.server);
      const page = await agent.get('/login');
      return agent
        .post('/login')
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), email, password: 'some wrong password' });
    };
    for (let i = 0; i < 3; i++) await post(`filler.${i}@clinic.test`);
    const real = await post(user.email);
    const unknown = await post('nobody.at.all@clinic.test');
    expect([real.status, unknown.status]).toEqual([429, 429]);
    const comparable = (res: request.Response, email: string) =>
      res.text
        .replace(/"X-CSRF-Token": "[^"]+"/g, '')
        .replace(/name="_csrf" value="[^"]+"/g, '')
        .split(email)
        .join('EMAIL');
    expect(comparable(real, user.email)).toBe(comparable(unknown, 'nobody.at.all@clinic.test'));
    const headerNames = (res: request.Response) =>
      Object.keys(res.headers)
        .filter((name) => !['date', 'x-request-id', 'content-length', 'etag'].includes(name))
        .sort();
    expect(headerNames(real)).toEqual(headerNames(unknown));
    expect(await auditActions(t.dataSource, "actor_id = ? AND action = 'staff.sign_in'", [user.id])).toEqual([]);
  });
});
