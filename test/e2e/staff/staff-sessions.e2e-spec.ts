import request from 'supertest';
import { SYSTEM_CONTEXT } from '../../../src/audit/audit-context';
import { AuthService } from '../../../src/auth/auth.service';
import { StaffSessionsService } from '../../../src/auth/staff-sessions.service';
import { StaffUsersService } from '../../../src/auth/staff-users.service';
import type { AppConfig } from '../../../src/config/app-config';
import { APP_CONFIG } from '../../../src/config/config.module';
import { csrfTokenOf } from '../../support/html';
import { auditActions } from '../../support/sessions';
import { createStaffUser } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

type Agent = request.Agent & { csrf: string };
const HANDLE = /\/account\/security\/sessions\/([0-9a-f]{32})\/end/g;
const handlesOn = (html: string) => [...html.matchAll(HANDLE)].map((match) => match[1]);
const rowsOn = (html: string) => html.split('data-testid="staff-session"').length - 1;

/** SECURITY.md §4: a staff member lists their own open sessions and ends the others. */
describe('staff: where you are signed in', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  /** A sign-in through the real form from a browser with this user agent. */
  async function signIn(user: { email: string; password: string }, userAgent: string): Promise<Agent> {
    const agent = request.agent(t.server).set('User-Agent', userAgent) as Agent;
    const page = await agent.get('/login').expect(200);
    await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), email: user.email, password: user.password })
      .expect(303);
    agent.csrf = csrfTokenOf((await agent.get('/account/security').expect(200)).text);
    return agent;
  }
  const securityPage = async (agent: Agent) => (await agent.get('/account/security').expect(200)).text;
  const post = (agent: Agent, path: string) => agent.post(path).type('form').send({ _csrf: agent.csrf });
  const expectSentToSignIn = async (agent: Agent) => {
    const res = await agent.get('/account/security');
    expect([302, 303]).toContain(res.status);
    expect(res.headers.location).toMatch(/^\/login/);
  };

  it('two sign-ins show two sessions; ending the other one sends its cookie to sign-in, and is audited', async () => {
    const user = await createStaffUser(t);
    const laptop = await signIn(user, FIREFOX);
    const phone = await signIn(user, SAFARI_IPHONE);

    const page = await securityPage(laptop);
    expect(rowsOn(page)).toBe(2);
    expect(page).toContain('Firefox 128 on Linux');
    expect(page).toMatch(/Firefox 128 on Linux <strong>\(this browser\)<\/strong>/);
    expect(page).toContain('Safari 17 on iPhone');
    // One button (for the other session), never the stored ids.
    const handles = handlesOn(page);
    expect(handles).toHaveLength(1);
    const stored: Array<{ sid: string }> = await t.dataSource.query('SELECT sid FROM staff_sessions');
    for (const { sid } of stored) expect(page).not.toContain(sid);

    const res = await post(laptop, `/account/security/sessions/${handles[0]}/end`).expect(303);
    expect(res.headers.location).toBe('/account/security');
    expect(await securityPage(laptop)).toContain('That session has been signed out.');
    await expectSentToSignIn(phone);

    const after = await securityPage(laptop);
    expect(rowsOn(after)).toBe(1);
    expect(after).toContain('You are not signed in anywhere else.');
    const audit = await auditActions(t.dataSource, "action = 'staff.session_ended' AND actor_id = ?", [user.id]);
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].details!)).toMatchObject({ staffUserId: user.id, device: 'Safari 17 on iPhone (iOS 17.5)' });
  });

  it('“sign out the other sessions” ends all but this one, and is audited once with the count', async () => {
    const user = await createStaffUser(t);
    const here = await signIn(user, FIREFOX);
    const second = await signIn(user, SAFARI_IPHONE);
    const third = await signIn(user, FIREFOX);
    const page = await securityPage(here);
    expect(rowsOn(page)).toBe(3);
    expect(page).toContain('Sign out the 2 other sessions');

    await post(here, '/account/security/sessions/others/end').expect(303);
    expect(await securityPage(here)).toContain('2 other sessions have been signed out.');
    await expectSentToSignIn(second);
    await expectSentToSignIn(third);
    expect(rowsOn(await securityPage(here))).toBe(1);
    const audit = await auditActions(t.dataSource, "action = 'staff.sessions_ended' AND actor_id = ?", [user.id]);
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].details!)).toMatchObject({ staffUserId: user.id, count: 2 });

    // Nothing left to end: a message, no audit row.
    await post(here, '/account/security/sessions/others/end').expect(303);
    expect(await securityPage(here)).toContain('There was no other session to sign out.');
    expect(await auditActions(t.dataSource, "action = 'staff.sessions_ended' AND actor_id = ?", [user.id])).toHaveLength(1);
  });

  it('another user’s session cannot be ended, nor can a made-up handle; this browser’s own has no button', async () => {
    const mallory = await signIn(await createStaffUser(t), FIREFOX);
    const victim = await createStaffUser(t);
    const victimHere = await signIn(victim, FIREFOX);
    const victimThere = await signIn(victim, SAFARI_IPHONE);
    const [victimHandle] = handlesOn(await securityPage(victimHere));
    expect(victimHandle).toMatch(/^[0-9a-f]{32}$/);

    await post(mallory, `/account/security/sessions/${victimHandle}/end`).expect(404);
    await post(mallory, `/account/security/sessions/${'0'.repeat(32)}/end`).expect(404);
    await post(mallory, '/account/security/sessions/not-a-handle/end').expect(400);
    // The victim's sessions are untouched, and nothing was audited for either.
    expect(rowsOn(await securityPage(victimThere))).toBe(2);
    expect(
      await auditActions(t.dataSource, "action IN ('staff.session_ended', 'staff.sessions_ended') AND details LIKE ?", [
        `%"staffUserId":${victim.id}%`,
      ]),
    ).toEqual([]);

    // A session's own handle (as its other session sees it) cannot end itself from itself either.
    const [hereHandle] = handlesOn(await securityPage(victimThere));
    await post(victimHere, `/account/security/sessions/${hereHandle}/end`).expect(404);
    await securityPage(victimHere);
  });

  it('lists only what the guard still accepts: not past the idle timeout, not of an older session generation', async () => {
    const user = await createStaffUser(t);
    await signIn(user, FIREFOX);
    await signIn(user, SAFARI_IPHONE);
    const sessions = t.app.get(StaffSessionsService);
    const config = t.app.get<AppConfig>(APP_CONFIG);
    const generation = await t.app.get(AuthService).sessionGenerationOf(user.id);
    expect(await sessions.list(user.id, generation, 'not-this-one')).toHaveLength(2);
    // Half a minute past the idle timeout the rows are not yet purged (they get a minute's grace), but the guard refuses them.
    const idleOver = new Date(Date.now() + (config.staffIdleMinutes * 60 + 30) * 1000);
    expect(await sessions.list(user.id, generation, 'not-this-one', idleOver)).toEqual([]);
    // A changed password moves the generation: the old sessions are dead and not listed.
    await t.app.get(StaffUsersService).changeOwnPassword(user.id, user.password, `${user.password} again`, SYSTEM_CONTEXT);
    expect(await sessions.list(user.id, await t.app.get(AuthService).sessionGenerationOf(user.id), 'not-this-one')).toEqual([]);
  });

  it('without CSRF token nothing ends', async () => {
    const user = await createStaffUser(t);
    const here = await signIn(user, FIREFOX);
    const other = await signIn(user, SAFARI_IPHONE);
    const [handle] = handlesOn(await securityPage(here));
    const res = await here.post(`/account/security/sessions/${handle}/end`).type('form').send({});
    expect(res.status).toBe(403);
    expect(rowsOn(await securityPage(other))).toBe(2);
  });
});
