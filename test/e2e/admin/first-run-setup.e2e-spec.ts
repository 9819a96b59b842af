import request from 'supertest';
import { StaffUser } from '../../../src/auth/entities/staff-user.entity';
import { ENROLMENT_PATH } from '../../../src/auth/mfa/second-step.service';
import { MfaPolicyService } from '../../../src/auth/mfa/mfa-policy.service';
import { SETUP_TOKEN_TTL_MS, SetupTokenService } from '../../../src/setup/setup-token.service';
import { csrfTokenOf } from '../../support/html';
import { createStaffUser } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PASSWORD = 'quiet lantern over seven hills';

/** Opens the printed link in a fresh browser session; returns the agent on the form and the form's page. */
async function openLink(t: TestApp, url: string): Promise<{ agent: request.Agent; page: string }> {
  const agent = request.agent(t.server);
  const opened = await agent.get(new URL(url).pathname + new URL(url).search);
  expect(opened.status).toBe(303);
  expect(opened.headers.location).toBe('/setup');
  const form = await agent.get('/setup').expect(200);
  return { agent, page: form.text };
}

const submit = (agent: request.Agent, page: string, fields: Record<string, string>) =>
  agent
    .post('/setup')
    .type('form')
    .send({
      _csrf: csrfTokenOf(page),
      name: 'Ada Admin',
      email: 'ada@clinic.test',
      password: PASSWORD,
      confirmPassword: PASSWORD,
      ...fields,
    });

describe('the first-run setup link', () => {
  let t: TestApp;
  const setup = () => t.app.get(SetupTokenService);
  const staffCount = () => t.dataSource.getRepository(StaffUser).count();

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => t.close());

  it('creates the first admin with their own password once, signs them in, and is 404 from then on; the token is never in a page', async () => {
    expect((await request(t.server).get('/setup')).status).toBe(404);
    const url = (await setup().issueLinkIfNeeded())!;
    expect(url).toMatch(new RegExp(`^${t.config.publicBaseUrl}/setup\\?token=[A-Za-z0-9_-]{43}$`));
    const token = new URL(url).searchParams.get('token')!;
    const [{ value }] = await t.dataSource.query("SELECT value FROM settings WHERE setting_key = 'setup.token_hash'");
    expect(value).not.toContain(token);

    const { agent, page } = await openLink(t, url);
    expect(page).toContain('create the first admin');
    expect(page).not.toContain(token);

    const created = await submit(agent, page, {});
    expect(created.status).toBe(303);
    expect(created.headers.location).toBe('/');
    const home = await agent.get('/portal-onboarding').expect(200);
    expect(home.text).toContain('Ada Admin');
    expect(home.text).not.toContain(token);

    const users = await t.dataSource.getRepository(StaffUser).createQueryBuilder('u').addSelect('u.passwordHash').getMany();
    expect(users).toEqual([expect.objectContaining({ email: 'ada@clinic.test', role: 'admin', mustChangePassword: false })]);
    expect(users[0].passwordHash).toMatch(/^\$argon2id\$/);

    // Used up, and /setup no longer exists for anyone.
    expect((await request(t.server).get(new URL(url).pathname + new URL(url).search)).status).toBe(404);
    expect((await agent.get('/setup')).status).toBe(404);
    expect((await submit(agent, page, { email: 'eve@clinic.test' })).status).not.toBe(303);
    expect(await staffCount()).toBe(1);
    expect(await setup().issueLinkIfNeeded()).toBeNull();
  });

  it('refuses a wrong, an expired or a replaced token, and changes nothing', async () => {
    const old = (await setup().issueLinkIfNeeded(new Date(Date.now() - SETUP_TOKEN_TTL_MS - 1000)))!;
    expect((await request(t.server).get(new URL(old).pathname + new URL(old).search)).status).toBe(404);
    expect((await request(t.server).get('/setup?token=' + 'A'.repeat(43))).status).toBe(404);

    const first = (await setup().issueLinkIfNeeded())!;
    const { agent, page } = await openLink(t, first);
    // A restart prints a new link: the earlier one stops working, even for a form already open.
    await setup().issueLinkIfNeeded();
    expect((await submit(agent, page, {})).status).toBe(404);
    expect(await staffCount()).toBe(0);
  });

  it('applies the usual password rules and re-shows the form with the reason', async () => {
    const { agent, page } = await openLink(t, (await setup().issueLinkIfNeeded())!);
    const weak = await submit(agent, page, { password: 'short', confirmPassword: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('at least 15 characters');
    expect(weak.text).not.toContain('value="short"');
    const ownName = await submit(agent, page, {
      password: 'Ada Admin clinic 2025!!',
      confirmPassword: 'Ada Admin clinic 2025!!',
    });
    expect(ownName.status).toBe(400);
    expect(await staffCount()).toBe(0);
    // The link still works after a refused password.
    expect((await submit(agent, page, {})).status).toBe(303);
  });

  it('sends the new admin to second-factor enrolment when the policy requires one', async () => {
    await t.app.get(MfaPolicyService).store(true, null, t.dataSource.manager);
    const { agent, page } = await openLink(t, (await setup().issueLinkIfNeeded())!);
    const created = await submit(agent, page, {});
    expect(created.status).toBe(303);
    expect(created.headers.location).toBe(ENROLMENT_PATH);
    // Half signed in: nothing else opens until enrolment is done.
    expect((await agent.get('/portal-onboarding')).status).toBe(303);
  });

  it('creates exactly one admin when the form is submitted twice at once', async () => {
    const url = (await setup().issueLinkIfNeeded())!;
    const a = await openLink(t, url);
    const b = await openLink(t, url);
    const results = await Promise.all([
      submit(a.agent, a.page, { email: 'a@clinic.test' }),
      submit(b.agent, b.page, { email: 'b@clinic.test' }),
    ]);
    expect(results.map((res) => res.status).sort()).toEqual([303, 404]);
    expect(await staffCount()).toBe(1);
  });

  it('does not exist once any staff user exists (e.g. made by admin:create or the test helpers)', async () => {
    await createStaffUser(t, 'admin');
    expect(await setup().issueLinkIfNeeded()).toBeNull();
    expect((await request(t.server).get('/setup?token=' + 'A'.repeat(43))).status).toBe(404);
    expect((await request(t.server).post('/setup').type('form').send({})).status).toBe(403);
  });
});
