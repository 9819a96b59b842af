import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { MAX_FAILED_SIGN_INS } from '../../../src/auth/lockout/attempt-lock';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient, DEFAULT_BIRTH_DATE } from '../../support/portal-patients';
import { addRepresentative } from '../../support/representatives';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'walnut harbour lantern season';
const NEW_PASSWORD = 'cobalt orchard quietly drifting';

/** The page without what differs between two renders of it (the CSRF token). */
const comparable = (html: string) => html.replace(/"X-CSRF-Token": "[^"]+"/g, '').replace(/name="_csrf" value="[^"]+"/g, '');

describe("a representative's own account: forgot password, staff unlock, and their links on the patient's tab", () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let sender: MailSenderService;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL });
    sender = t.app.get(MailSenderService);
    staff = await signInAs(t);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** Opens an emailed link, answers the two questions, submits the form (a username only on an invite). */
  async function useLink(path: string, lastName: string, form: Record<string, string>) {
    const agent = request.agent(t.server);
    const opened = await agent.get(path).expect(303);
    const route = opened.headers.location as string;
    const step = await agent.get(route).expect(200);
    await agent
      .post(`${route}/identity`)
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), dateOfBirth: DEFAULT_BIRTH_DATE, representativeLastName: lastName })
      .expect(303);
    const page = await agent.get(route).expect(200);
    await agent
      .post(route)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), ...form })
      .expect(303);
    return page.text;
  }

  const signIn = async (username: string, password: string) => {
    const agent = request.agent(t.server);
    const login = await agent.get('/portal/login').expect(200);
    const res = await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username, password });
    return { agent, res };
  };

  /** A patient with a representative who set up their own account from the invite. */
  async function representativeWithAccount(lastName = 'Okonkwo') {
    const patient = await createPortalPatient(t, { firstName: 'Ife', lastName });
    const rep = await addRepresentative(t, staff, patient.id, { fullName: `Chidi ${lastName}` });
    const before = smtp.received.length;
    await staff
      .post(`/patients/${patient.id}/representatives/${rep.id}/invite`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .expect(303);
    await sender.drainOnce();
    const link = await linkFrom(smtp, await smtp.waitForMailTo(rep.email, before), BASE_URL);
    const username = `chidi${rep.id}`;
    await useLink(link.path, lastName, { username, password: PASSWORD, confirmPassword: PASSWORD });
    return { patient, rep, username, lastName };
  }

  async function forgot(identifier: string) {
    const agent = request.agent(t.server);
    const page = await agent.get('/portal/forgot-password').expect(200);
    return agent
      .post('/portal/forgot-password')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), identifier });
  }

  it('forgot password: by username or their own address, the same answer as for no account; the reset link asks both questions and sets a new password', async () => {
    const { patient, rep, username, lastName } = await representativeWithAccount();
    const before = smtp.received.length;
    const byUsername = await forgot(username);
    const unknown = await forgot('no.such.representative');
    const byEmail = await forgot(` ${rep.email.toUpperCase()} `);
    for (const res of [byUsername, unknown, byEmail]) expect(res.status).toBe(200);
    expect(new Set([byUsername, unknown, byEmail].map((res) => comparable(res.text))).size).toBe(1);

    const [link] = await t.dataSource.query(
      "SELECT patient_id, sent_to FROM portal_tokens WHERE representative_account_id = ? AND purpose = 'reset' ORDER BY id DESC",
      [rep.accountId],
    );
    // For the patient they act for, to their own address; the patient's own account is untouched.
    expect(Number(link.patient_id)).toBe(patient.id);
    expect(link.sent_to).toBe(rep.email);
    const [kind] = await t.dataSource.query(
      "SELECT kind FROM mail_outbox WHERE to_address = ? AND kind LIKE 'representative_%' ORDER BY id DESC",
      [rep.email],
    );
    expect(kind.kind).toBe('representative_reset');
    await sender.drainOnce();
    const mail = await smtp.waitForMailTo(rep.email, before);
    const reset = await linkFrom(smtp, mail, BASE_URL);
    expect(reset.path).toMatch(/^\/portal\/reset\//);
    const form = await useLink(reset.path, lastName, { password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(form).not.toContain('name="username"');
    expect((await signIn(username, PASSWORD)).res.status).toBe(401);
    const { agent, res } = await signIn(username, NEW_PASSWORD);
    expect(res.status).toBe(303);
    expect((await agent.get('/portal').expect(200)).text).toContain(`Ife ${lastName}`);
    const trail = await t.dataSource.query(
      "SELECT action, outcome, actor_type FROM audit_events WHERE patient_id = ? AND action = 'representative.reset_requested'",
      [patient.id],
    );
    expect(trail.length).toBeGreaterThanOrEqual(1);
    expect(trail[0]).toMatchObject({ outcome: 'success', actor_type: 'proxy' });
  });

  it('forgot password: at most 3 reset links per representative in 15 minutes, and none once they may act for no one', async () => {
    const { patient, rep, username } = await representativeWithAccount('Adeyemi');
    const resets = async () =>
      Number(
        (
          await t.dataSource.query(
            "SELECT COUNT(*) AS n FROM portal_tokens WHERE representative_account_id = ? AND purpose = 'reset'",
            [rep.accountId],
          )
        )[0].n,
      );
    for (let i = 0; i < 4; i++) await forgot(username);
    expect(await resets()).toBe(3);
    // Revoked: they may act for no one now, so nothing is sent (and the answer stays the same).
    await staff
      .post(`/patients/${patient.id}/representatives/${rep.id}/revoke`)
      .type('form')
      .send({ _csrf: staff.csrf, version: String(rep.version), reason: 'Authorisation withdrawn', confirm: 'yes' })
      .expect(303);
    await t.dataSource.query('UPDATE portal_tokens SET created_at = ? WHERE representative_account_id = ?', [
      '2000-01-01 00:00:00',
      rep.accountId,
    ]);
    expect((await forgot(username)).status).toBe(200);
    expect(await resets()).toBe(3);
  });

  it('staff see a locked representative on the tab and unlock their sign-in; audited', async () => {
    const { patient, rep, username } = await representativeWithAccount('Mensah');
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) await signIn(username, 'not the password at all');
    // Locked: even the right password fails now.
    expect((await signIn(username, PASSWORD)).res.status).toBe(401);
    const tab = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(tab.text).toContain('Sign-in locked until');
    expect(tab.text).toContain(`/representatives/${rep.id}/unlock`);

    await staff
      .post(`/patients/${patient.id}/representatives/${rep.id}/unlock`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .expect(303)
      .expect('Location', `/patients/${patient.id}?tab=portal&saved=representative_unlocked`);
    const after = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(after.text).not.toContain('Sign-in locked until');
    expect(after.text).toContain('Representative Chidi Mensah’s portal sign-in unlocked by');
    expect((await signIn(username, PASSWORD)).res.status).toBe(303);
    // Nothing to unlock: nothing changes, no second audit row.
    await staff
      .post(`/patients/${patient.id}/representatives/${rep.id}/unlock`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .expect(303)
      .expect('Location', `/patients/${patient.id}?tab=portal&saved=unchanged`);
    const rows = await t.dataSource.query(
      "SELECT actor_id FROM audit_events WHERE patient_id = ? AND action = 'representative.account_unlocked'",
      [patient.id],
    );
    expect(rows.map((row: { actor_id: number }) => Number(row.actor_id))).toEqual([staff.user.id]);
    // Another patient's representative cannot be unlocked through this patient.
    const other = await createPortalPatient(t);
    await staff
      .post(`/patients/${other.id}/representatives/${rep.id}/unlock`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .expect(404);
  });

  it("lists the representative's links in the tab's link table, marked as theirs, with their states", async () => {
    const { patient, rep } = await representativeWithAccount('Boateng');
    const tab = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    const table = /<table class="data" id="portal-links">([\s\S]*?)<\/table>/.exec(tab.text)![1];
    const rows = [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '));
    const theirs = rows.filter((row) => row.includes('Representative: Chidi Boateng'));
    expect(theirs).toHaveLength(1);
    expect(theirs[0]).toContain('Invite');
    expect(theirs[0]).toContain(rep.email);
    expect(theirs[0]).toMatch(/used \d{4}-\d{2}-\d{2}/);
    expect(theirs[0]).toContain('Account set up');
    // The patient's own links stay apart: none was sent to the patient.
    expect(rows.some((row) => row.includes('The patient'))).toBe(false);
  });
});
