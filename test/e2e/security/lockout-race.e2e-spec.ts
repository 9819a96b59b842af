import request from 'supertest';
import { MAX_FAILED_SIGN_INS } from '../../../src/auth/lockout/attempt-lock';
import { PasswordHasher } from '../../../src/auth/passwords/password-hasher.service';
import { LOCKED_MESSAGE } from '../../../src/auth/mfa/second-step-throttled.filter';
import { toSqlDateTime } from '../../../src/database/sql';
import { checkUsername } from '../../../src/portal-access/usernames';
import { csrfTokenOf } from '../../support/html';
import { createActivatedPatient, createPortalPatient } from '../../support/portal-patients';
import { awayFromStepBoundary, createStaffUserWithTotp, passwordStep, totpCode, totpSecretOf } from '../../support/second-factor';
import { auditActions } from '../../support/sessions';
import { createStaffUser, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PATIENT_PASSWORD = 'copper meadow lantern thistle';
const BURST = 20;

/** Waits until the database shows the limit used up (reserved or locked), while the burst is still in flight. */
async function untilLimitReached(t: TestApp, table: string, key: string, id: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [row] = await t.dataSource.query(`SELECT failed_login_count, locked_until FROM ${table} WHERE ${key} = ?`, [id]);
    if (Number(row.failed_login_count) >= MAX_FAILED_SIGN_INS || row.locked_until) return;
    if (Date.now() > deadline) throw new Error('the limit was never reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The outside review's attack: 20 sign-in attempts at once on one account (19 wrong, 1 right),
 * split over two app instances on one database. The lock state used to be read before the slow
 * hash check, so all 20 were evaluated and the right one signed in.
 */
describe('the lockout under a burst of parallel attempts on two instances', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({}, a.database);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const instance = (i: number) => (i % 2 === 0 ? a : b);

  /** One agent per attempt, each with its own sign-in page (and CSRF token) on alternating instances. */
  async function agentsOn(path: string): Promise<Array<{ agent: request.Agent; csrf: string }>> {
    return Promise.all(
      Array.from({ length: BURST }, async (_unused, i) => {
        const agent = request.agent(instance(i).server);
        const page = await agent.get(path).expect(200);
        return { agent, csrf: csrfTokenOf(page.text) };
      }),
    );
  }

  it('staff passwords: at most 5 are evaluated and the right password is refused once locked', async () => {
    const user = await createStaffUser(a);
    const agents = await agentsOn('/login');
    const post = (i: number, password: string) =>
      agents[i].agent.post('/login').type('form').send({ _csrf: agents[i].csrf, email: user.email, password });
    const wrong = agents.slice(1).map((_unused, i) => post(i + 1, `wrong password number ${i}`).then((res) => res.status));
    await untilLimitReached(a, 'staff_users', 'id', user.id);
    const right = await post(0, STAFF_PASSWORD);
    const statuses = await Promise.all(wrong);

    expect(right.status).toBe(401);
    expect(statuses.every((status) => status === 401)).toBe(true);
    const events = await auditActions(a.dataSource, "actor_id = ? AND action = 'staff.sign_in'", [user.id]);
    const evaluated = events.filter((e) => e.outcome === 'success' || /wrong_password/.test(e.details ?? ''));
    expect(evaluated.length).toBeLessThanOrEqual(MAX_FAILED_SIGN_INS);
    expect(events.filter((e) => e.outcome === 'success')).toHaveLength(0);
    expect(events).toHaveLength(BURST);
    expect((await auditActions(a.dataSource, "actor_id = ? AND action = 'staff.locked_out'", [user.id])).length).toBe(1);
  });

  it('staff second-step codes: at most 5 are evaluated and the right code is refused once locked', async () => {
    const user = await createStaffUserWithTotp(a);
    await awayFromStepBoundary(10);
    // Twenty half-signed-in sessions (correct password), alternating instances.
    const pending: request.Agent[] = [];
    for (let i = 0; i < BURST; i++) pending.push((await passwordStep(instance(i), user.email, user.password)).agent);
    const pages = await Promise.all(pending.map((agent) => agent.get('/login/second-factor').expect(200)));
    const valid = new Set(await Promise.all([-1, 0, 1].map((steps) => totpCode(user.secret, steps))));
    const wrongCodes: string[] = [];
    for (let n = 100000; wrongCodes.length < BURST; n += 7919) if (!valid.has(String(n))) wrongCodes.push(String(n));
    const post = (i: number, code: string) =>
      pending[i]
        .post('/login/second-factor')
        .type('form')
        .send({ _csrf: csrfTokenOf(pages[i].text), code });

    const wrong = pending.slice(1).map((_unused, i) => post(i + 1, wrongCodes[i]).then((res) => res.status));
    await untilLimitReached(a, 'staff_users', 'id', user.id);
    const right = await post(0, await totpCode(user.secret));
    await Promise.all(wrong);

    // Refused either way: the lockout page (limit used up) or back to sign-in (already locked).
    if (right.status === 401) expect(right.text).toContain(LOCKED_MESSAGE.replace(/'/g, '&#39;').split(':')[0]);
    else expect(right.headers.location).toMatch(/^\/login(\?|$)/);
    const after = await pending[0].get('/account/password');
    expect(after.status).toBe(303);
    expect(after.headers.location).toMatch(/^\/login/);
    const events = await auditActions(a.dataSource, "actor_id = ? AND action = 'staff.second_factor'", [user.id]);
    const evaluated = events.filter(
      (e) => e.outcome === 'success' || (e.outcome === 'failure' && !/"locked"/.test(e.details ?? '')),
    );
    expect(evaluated.length).toBeLessThanOrEqual(MAX_FAILED_SIGN_INS);
    expect(events.filter((e) => e.outcome === 'success')).toHaveLength(0);
  });

  it('patient passwords: at most 5 are evaluated and the right password is refused once locked', async () => {
    const username = `race.${Date.now() % 100000}`;
    const patient = await createPortalPatient(a, { username });
    const hash = await a.app.get(PasswordHasher).hash(PATIENT_PASSWORD);
    await a.dataSource.query('UPDATE portal_accounts SET password_hash = ? WHERE patient_id = ?', [hash, patient.id]);
    const agents = await agentsOn('/portal/login');
    const post = (i: number, password: string) =>
      agents[i].agent.post('/portal/login').type('form').send({ _csrf: agents[i].csrf, username, password });

    const wrong = agents.slice(1).map((_unused, i) => post(i + 1, `wrong password number ${i}`).then((res) => res.status));
    await untilLimitReached(a, 'portal_accounts', 'patient_id', patient.id);
    const right = await post(0, PATIENT_PASSWORD);
    const statuses = await Promise.all(wrong);

    expect(right.status).toBe(401);
    expect(statuses.every((status) => status === 401)).toBe(true);
    const events = await auditActions(a.dataSource, "action = 'patient.sign_in' AND patient_id = ?", [patient.id]);
    const evaluated = events.filter((e) => e.outcome === 'success' || /wrong_password/.test(e.details ?? ''));
    expect(evaluated.length).toBeLessThanOrEqual(MAX_FAILED_SIGN_INS);
    expect(events.filter((e) => e.outcome === 'success')).toHaveLength(0);
    expect(events).toHaveLength(BURST);
    const [row] = await a.dataSource.query('SELECT first_login_at, locked_until FROM portal_accounts WHERE patient_id = ?', [
      patient.id,
    ]);
    expect(row.first_login_at).toBeNull();
    expect(row.locked_until).not.toBeNull();
  });

  it('patient second-step codes: at most 5 are evaluated and the right code is refused once locked', async () => {
    const patient = await createActivatedPatient(a, PATIENT_PASSWORD, { prefix: 'race.totp' });
    const passwordStepOn = async (t: TestApp) => {
      const agent = request.agent(t.server);
      const page = await agent.get('/portal/login').expect(200);
      const res = await agent
        .post('/portal/login')
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), username: patient.username, password: PATIENT_PASSWORD })
        .expect(303);
      return { agent, location: String(res.headers.location) };
    };
    // Turn the authenticator app on from the account page, confirmed with the previous step's code.
    await awayFromStepBoundary();
    const { agent: enrolling } = await passwordStepOn(a);
    const setup = await enrolling.get('/portal/account/second-factor').expect(200);
    const secret = totpSecretOf(setup.text);
    await enrolling
      .post('/portal/account/second-factor/totp')
      .type('form')
      .send({ _csrf: csrfTokenOf(setup.text), code: await totpCode(secret, -1) })
      .expect(303);

    await awayFromStepBoundary(10);
    const pending: request.Agent[] = [];
    for (let i = 0; i < BURST; i++) {
      const step = await passwordStepOn(instance(i));
      expect(step.location).toBe('/portal/login/second-step');
      pending.push(step.agent);
    }
    const pages = await Promise.all(pending.map((agent) => agent.get('/portal/login/second-step').expect(200)));
    const valid = new Set(await Promise.all([-1, 0, 1].map((steps) => totpCode(secret, steps))));
    const wrongCodes: string[] = [];
    for (let n = 100000; wrongCodes.length < BURST; n += 7919) if (!valid.has(String(n))) wrongCodes.push(String(n));
    const post = (i: number, code: string) =>
      pending[i]
        .post('/portal/login/second-step')
        .type('form')
        .send({ _csrf: csrfTokenOf(pages[i].text), code });

    const wrong = pending.slice(1).map((_unused, i) => post(i + 1, wrongCodes[i]).then((res) => res.status));
    await untilLimitReached(a, 'portal_accounts', 'patient_id', patient.id);
    const right = await post(0, await totpCode(secret));
    await Promise.all(wrong);

    // Refused either way: the lockout answer (limit used up) or back to sign-in (already locked), never the portal.
    expect(right.status === 303 && right.headers.location === '/portal').toBe(false);
    await pending[0].get('/portal').expect(303);
    const events = await auditActions(a.dataSource, "action = 'patient.sign_in' AND patient_id = ?", [patient.id]);
    const codeEvents = events.filter((e) => /wrong_code|"factor"/.test(e.details ?? ''));
    expect(codeEvents.length).toBeLessThanOrEqual(MAX_FAILED_SIGN_INS);
    expect(codeEvents.length).toBeGreaterThan(0);
    expect(codeEvents.filter((e) => e.outcome === 'success')).toHaveLength(0);
    const [row] = await a.dataSource.query('SELECT locked_until FROM portal_accounts WHERE patient_id = ?', [patient.id]);
    expect(row.locked_until).not.toBeNull();
  });

  it('representatives’ own passwords (same form, own account row): at most 5 are evaluated and the right one is refused once locked', async () => {
    const username = `proxy.race.${Date.now() % 100000}`;
    const key = (checkUsername(username) as { key: string }).key;
    const now = toSqlDateTime(new Date());
    await a.dataSource.query(
      `INSERT INTO representative_accounts (email_key, email, full_name, username, username_key, password_hash, failed_login_count, session_generation, created_at, updated_at)
       VALUES (?, ?, 'Rita Racer', ?, ?, ?, 0, 0, ?, ?)`,
      [
        `${username}@example.test`,
        `${username}@example.test`,
        username,
        key,
        await a.app.get(PasswordHasher).hash(PATIENT_PASSWORD),
        now,
        now,
      ],
    );
    const [{ id }] = await a.dataSource.query('SELECT id FROM representative_accounts WHERE username_key = ?', [key]);
    const accountId = Number(id);
    const agents = await agentsOn('/portal/login');
    const post = (i: number, password: string) =>
      agents[i].agent.post('/portal/login').type('form').send({ _csrf: agents[i].csrf, username, password });

    const wrong = agents.slice(1).map((_unused, i) => post(i + 1, `wrong password number ${i}`).then((res) => res.status));
    await untilLimitReached(a, 'representative_accounts', 'id', accountId);
    const right = await post(0, PATIENT_PASSWORD);
    const statuses = await Promise.all(wrong);

    expect(right.status).toBe(401);
    expect(statuses.every((status) => status === 401)).toBe(true);
    const events = await auditActions(
      a.dataSource,
      "actor_type = 'proxy' AND actor_id = ? AND action = 'representative.sign_in'",
      [accountId],
    );
    const evaluated = events.filter((e) => e.outcome === 'success' || /wrong_password/.test(e.details ?? ''));
    expect(evaluated.length).toBeLessThanOrEqual(MAX_FAILED_SIGN_INS);
    expect(events.filter((e) => e.outcome === 'success')).toHaveLength(0);
    expect(events).toHaveLength(BURST);
    const [row] = await a.dataSource.query('SELECT first_login_at, locked_until FROM representative_accounts WHERE id = ?', [
      accountId,
    ]);
    expect(row.first_login_at).toBeNull();
    expect(row.locked_until).not.toBeNull();
  });

  it('a signed-in patient’s current password on the account page: 20 at once, at most 5 evaluated, then locked', async () => {
    const username = `race.account.${Date.now() % 100000}`;
    const patient = await createPortalPatient(a, { username });
    const hash = await a.app.get(PasswordHasher).hash(PATIENT_PASSWORD);
    await a.dataSource.query('UPDATE portal_accounts SET password_hash = ? WHERE patient_id = ?', [hash, patient.id]);
    const [login] = await agentsOn('/portal/login');
    await login.agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: login.csrf, username, password: PATIENT_PASSWORD })
      .expect(303);
    const page = await login.agent.get('/portal/account').expect(200);
    const change = (currentPassword: string) =>
      login.agent
        .post('/portal/account/password')
        .type('form')
        .send({
          _csrf: csrfTokenOf(page.text),
          currentPassword,
          newPassword: 'a brand new passphrase for me',
          confirmPassword: 'a brand new passphrase for me',
        });
    const statuses = await Promise.all(
      Array.from({ length: BURST }, (_unused, i) => change(`wrong guess ${i}`).then((res) => res.status)),
    );
    expect(statuses.every((status) => status === 400)).toBe(true);
    const events = await auditActions(a.dataSource, "action = 'patient.password_changed' AND patient_id = ?", [patient.id]);
    expect(events.filter((e) => /wrong_password/.test(e.details ?? '')).length).toBeLessThanOrEqual(MAX_FAILED_SIGN_INS);
    expect(events).toHaveLength(BURST);
    const [row] = await a.dataSource.query('SELECT locked_until FROM portal_accounts WHERE patient_id = ?', [patient.id]);
    expect(row.locked_until).not.toBeNull();
    const right = await change(PATIENT_PASSWORD);
    expect(right.status).toBe(400);
    expect(right.text).toContain('Too many failed attempts.');
  });

  it('a right password after fewer than 5 failures still signs in and resets the counter', async () => {
    const user = await createStaffUser(a);
    const agents = await agentsOn('/login');
    const post = (i: number, password: string) =>
      agents[i].agent.post('/login').type('form').send({ _csrf: agents[i].csrf, email: user.email, password });
    const statuses = await Promise.all([1, 2, 3].map((i) => post(i, `wrong password number ${i}`).then((res) => res.status)));
    expect(statuses).toEqual([401, 401, 401]);
    expect((await post(0, STAFF_PASSWORD)).status).toBe(303);
    const [row] = await a.dataSource.query('SELECT failed_login_count, locked_until FROM staff_users WHERE id = ?', [user.id]);
    expect(Number(row.failed_login_count)).toBe(0);
    expect(row.locked_until).toBeNull();
  });
});

describe('the lockout is per account, whoever asks', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Behind one trusted proxy: each attempt below comes from another client IP.
    t = await startTestApp({ TRUST_PROXY_HOPS: '1' });
  });
  afterAll(async () => t.close());

  it('failures for one account from rotating client IPs still lock it, and the right password is refused then', async () => {
    const user = await createStaffUser(t);
    const attempt = async (i: number, password: string) => {
      const ip = `203.0.113.${10 + i}`;
      const agent = request.agent(t.server);
      const page = await agent.get('/login').set('X-Forwarded-For', ip).expect(200);
      return agent
        .post('/login')
        .set('X-Forwarded-For', ip)
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), email: user.email, password });
    };
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) expect((await attempt(i, `wrong password number ${i}`)).status).toBe(401);
    expect((await attempt(MAX_FAILED_SIGN_INS, STAFF_PASSWORD)).status).toBe(401);
    const events = await auditActions(t.dataSource, "actor_id = ? AND action = 'staff.sign_in'", [user.id]);
    expect(new Set(events.map((e) => e.ip)).size).toBe(MAX_FAILED_SIGN_INS + 1);
    expect(events.map((e) => e.outcome)).not.toContain('success');
    expect(JSON.parse(events[events.length - 1].details!)).toMatchObject({ reason: 'locked' });
  });
});
