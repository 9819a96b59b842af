import request from 'supertest';
import { PasswordHasher } from '../../../src/auth/passwords/password-hasher.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import {
  EMAIL_CHANGES_PER_PATIENT_PER_DAY,
  UNUSABLE_ADDRESS,
} from '../../../src/portal-access/email-change/email-change.service';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient } from '../../support/portal-patients';
import { auditActions } from '../../support/sessions';
import { linkFrom, startSmtpServer, TestSmtpServer, type ReceivedMail } from '../../support/smtp-server';
import { signInAs, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { translateMessage } from '../../../src/i18n/messages';

const BASE_URL = 'https://portal.clinic.test';
const PATIENT_PASSWORD = 'copper kettle morning walk';
type Agent = Awaited<ReturnType<typeof signInAs>>;

/**
 * The outside review's insider takeover: a staff member changed a patient's email to their own
 * address and sent a reset. Now the change waits for the new address to confirm (and, under the
 * policy, for a second staff member), the old address can stop it, and the requester re-enters
 * their password.
 */
describe('changing a patient’s email safely', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: Agent;
  let colleague: Agent;
  let admin: Agent;
  let sender: MailSenderService;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL });
    sender = t.app.get(MailSenderService);
    staff = await signInAs(t);
    colleague = await signInAs(t);
    admin = await signInAs(t, 'admin');
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const versionOf = async (id: number) =>
    String((await t.dataSource.query('SELECT version FROM patients WHERE id = ?', [id]))[0].version);
  const emailOf = async (id: number) =>
    (await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [id]))[0].email as string | null;
  const post = (agent: Agent, path: string, form: Record<string, string> = {}) =>
    agent
      .post(path)
      .type('form')
      .send({ _csrf: agent.csrf, ...form });
  const requestChange = async (agent: Agent, id: number, email: string, password = STAFF_PASSWORD) =>
    post(agent, `/patients/${id}/email`, {
      email,
      verified: 'yes',
      reason: 'Patient called from the number on file',
      password,
      version: await versionOf(id),
    });
  const setPolicy = (on: boolean) =>
    post(admin, '/admin/email-changes/policy', { needsApproval: String(on) })
      .expect(303)
      .expect('Location', '/admin/email-changes');

  /** Delivers the outbox and returns the new mails to one address. */
  async function mailsTo(address: string, since: number): Promise<ReceivedMail[]> {
    await sender.drainOnce();
    await new Promise((resolve) => setTimeout(resolve, 50));
    return smtp.received.slice(since).filter((mail) => mail.to.includes(address));
  }
  async function linkIn(mail: ReceivedMail, kind: 'confirm' | 'report'): Promise<string> {
    const text = (await smtp.parse(mail)).text ?? '';
    const match = new RegExp(`${BASE_URL.replace(/\./g, '\\.')}(/portal/email-change/${kind}/[A-Za-z0-9_-]{43})`).exec(text);
    if (!match) throw new Error(`No ${kind} link in: ${text}`);
    return match[1];
  }
  /** Opens a link like a browser: GET with the token, redirected to a token-free page with one button, which is pressed. */
  async function press(path: string): Promise<request.Response> {
    const browser = request.agent(t.server);
    const opened = await browser.get(path);
    if (opened.status !== 303) return opened;
    const page = await browser.get(opened.headers.location).expect(200);
    // Post/redirect/get: the answer is the page the POST redirects to.
    return browser
      .post(opened.headers.location)
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) });
  }

  /** A patient who set a password and is signed in to the portal (their agent). */
  async function activePatient(firstName: string) {
    const username = `${firstName.toLowerCase()}${Date.now() % 100000}`;
    const patient = await createPortalPatient(t, { firstName, username });
    const hash = await t.app.get(PasswordHasher).hash(PATIENT_PASSWORD);
    await t.dataSource.query('UPDATE portal_accounts SET password_hash = ?, invited_at = updated_at WHERE patient_id = ?', [
      hash,
      patient.id,
    ]);
    const browser = request.agent(t.server);
    const login = await browser.get('/portal/login').expect(200);
    await browser
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username, password: PATIENT_PASSWORD })
      .expect(303);
    await browser.get('/portal').expect(200);
    return { ...patient, oldEmail: patient.email!, browser };
  }

  it('keeps the old address in effect until the new one confirms by its link; then links and sessions die and the old address is told', async () => {
    const patient = await activePatient('Yusuf');
    const newEmail = `yusuf.new.${patient.id}@example.test`;
    const since = smtp.received.length;
    const res = await requestChange(staff, patient.id, newEmail);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/patients/${patient.id}?tab=portal&saved=email_confirmation`);
    expect(await emailOf(patient.id)).toBe(patient.oldEmail);

    // A reset sent now still goes to the old address.
    await post(staff, `/patients/${patient.id}/portal/invite`).expect(303);
    const toOld = await mailsTo(patient.oldEmail, since);
    const resetMail = toOld.find((mail) => /\/portal\/reset\//.test(mail.raw));
    expect(resetMail).toBeDefined();
    const oldReset = await linkFrom(smtp, resetMail!, BASE_URL);

    // The old address: a notice with a "this wasn't me" link, the new address masked.
    const requested = toOld.find((mail) => /report/.test(mail.raw))!;
    const notice = await smtp.parse(requested);
    expect(notice.text).toContain('y•••@example.test');
    expect(notice.text).not.toContain(newEmail);
    expect(await linkIn(requested, 'report')).toMatch(/^\/portal\/email-change\/report\//);

    // The new address: a confirmation link. Opening it (GET, as a mail scanner would) changes nothing.
    const [verifyMail] = smtp.received.slice(since).filter((mail) => mail.to.includes(newEmail));
    const confirm = await linkIn(verifyMail, 'confirm');
    const opened = await request(t.server).get(confirm).expect(303);
    expect(opened.headers.location).toBe('/portal/email-change/confirm');
    await request(t.server).get(confirm).expect(303);
    expect(await emailOf(patient.id)).toBe(patient.oldEmail);

    const beforeConfirm = smtp.received.length;
    const done = await press(confirm);
    expect(done.status).toBe(200);
    expect(done.text).toContain('Your email address is confirmed');
    expect(await emailOf(patient.id)).toBe(newEmail);
    // The old reset link, the confirm link itself and the open portal session are all dead.
    expect((await request(t.server).get(oldReset.path)).status).toBe(410);
    expect((await request(t.server).get(confirm)).status).toBe(410);
    expect((await patient.browser.get('/portal')).status).toBe(303);
    const completed = await mailsTo(patient.oldEmail, beforeConfirm);
    expect(completed).toHaveLength(1);
    expect((await smtp.parse(completed[0])).text).toContain('was changed to y•••@example.test');
    expect(await linkIn(completed[0], 'report')).toBeTruthy();

    const actions = (await auditActions(t.dataSource, 'patient_id = ? AND action LIKE ?', [patient.id, 'patient.email%'])).map(
      (e) => `${e.action}:${e.outcome}`,
    );
    expect(actions).toEqual([
      'patient.email_change_requested:success',
      'patient.email_changed:success',
      'patient.email_change_confirmed:success',
    ]);
    const [changed] = await auditActions(t.dataSource, 'patient_id = ? AND action = ?', [patient.id, 'patient.email_changed']);
    expect(JSON.parse(changed.details!)).toMatchObject({
      from: patient.oldEmail,
      to: newEmail,
      requestedBy: staff.user.email,
      confirmedFromNewAddress: true,
    });
    expect(changed.ip).toBeTruthy();
  });

  it('needs the requester’s password: a wrong one requests nothing and counts towards the lockout', async () => {
    const { id, email } = await createPortalPatient(t);
    const res = await requestChange(staff, id, 'someone.else@example.test', 'not my password at all!');
    expect(res.status).toBe(400);
    expect(res.text).toContain('The current password is not right');
    expect(res.text).not.toContain('not my password at all');
    expect(await emailOf(id)).toBe(email);
    expect(await t.dataSource.query('SELECT id FROM email_change_requests WHERE patient_id = ?', [id])).toEqual([]);
    const [{ failed_login_count: failures }] = await t.dataSource.query(
      'SELECT failed_login_count FROM staff_users WHERE id = ?',
      [staff.user.id],
    );
    expect(Number(failures)).toBe(1);
    // The right password afterwards forgets the failure.
    expect((await requestChange(staff, id, 'someone.else@example.test')).status).toBe(303);
    const [{ failed_login_count: after }] = await t.dataSource.query('SELECT failed_login_count FROM staff_users WHERE id = ?', [
      staff.user.id,
    ]);
    expect(Number(after)).toBe(0);
  });

  it('refuses a staff member’s own address with a generic message', async () => {
    const { id, email } = await createPortalPatient(t);
    const res = await requestChange(staff, id, staff.user.email.toUpperCase());
    expect(res.status).toBe(400);
    expect(res.text).toContain(translateMessage('en', UNUSABLE_ADDRESS).replace(/'/g, '&#39;'));
    expect(await emailOf(id)).toBe(email);
  });

  it(`is throttled: at most ${EMAIL_CHANGES_PER_PATIENT_PER_DAY} requests per patient a day, the next one requests nothing`, async () => {
    const { id, email } = await createPortalPatient(t);
    for (let i = 0; i < EMAIL_CHANGES_PER_PATIENT_PER_DAY; i++)
      expect((await requestChange(staff, id, `throttle.${i}.${id}@example.test`)).status).toBe(303);
    const res = await requestChange(staff, id, `throttle.last.${id}@example.test`);
    expect(res.status).toBe(400);
    expect(res.text).toContain(`already changed ${EMAIL_CHANGES_PER_PATIENT_PER_DAY} times today`);
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM email_change_requests WHERE patient_id = ?', [id]);
    expect(Number(n)).toBe(EMAIL_CHANGES_PER_PATIENT_PER_DAY);
    expect(await emailOf(id)).toBe(email);
  });

  it('a second request voids the first: the first link shows the dead-link page', async () => {
    const { id } = await createPortalPatient(t);
    const since = smtp.received.length;
    await requestChange(staff, id, `first.${id}@example.test`).then((res) => expect(res.status).toBe(303));
    const [first] = await mailsTo(`first.${id}@example.test`, since);
    await requestChange(staff, id, `second.${id}@example.test`).then((res) => expect(res.status).toBe(303));
    expect((await press(await linkIn(first, 'confirm'))).status).toBe(410);
    expect(await t.dataSource.query('SELECT status FROM email_change_requests WHERE patient_id = ? ORDER BY id', [id])).toEqual([
      { status: 'superseded' },
      { status: 'awaiting_confirmation' },
    ]);
  });

  it('"this wasn’t me" from the old address freezes the change and alerts the admins by email', async () => {
    const { id, email } = await createPortalPatient(t);
    const since = smtp.received.length;
    await requestChange(staff, id, `takeover.${id}@example.test`).then((res) => expect(res.status).toBe(303));
    const [notice] = await mailsTo(email!, since);
    const [verify] = smtp.received.slice(since).filter((mail) => mail.to.includes(`takeover.${id}@example.test`));
    const beforeReport = smtp.received.length;
    const reported = await press(await linkIn(notice, 'report'));
    expect(reported.status).toBe(200);
    expect(reported.text).toContain('the clinic has been alerted');
    expect((await press(await linkIn(verify, 'confirm'))).status).toBe(410);
    expect(await emailOf(id)).toBe(email);
    const [row] = await t.dataSource.query('SELECT status FROM email_change_requests WHERE patient_id = ?', [id]);
    expect(row.status).toBe('frozen');
    expect((await mailsTo(admin.user.email, beforeReport)).length).toBe(1);
    const [event] = await auditActions(t.dataSource, 'patient_id = ? AND action = ?', [id, 'patient.email_change_reported']);
    expect(event.outcome).toBe('denied');
    // The frozen change tops the admin queue and cannot be approved.
    const queue = await admin.get('/admin/email-changes').expect(200);
    expect(queue.text).toContain('Frozen');
    expect(queue.text).toContain(`takeover.${id}@example.test`);
  });

  it('under the policy a different staff member approves, the requester cannot, and only then does the new address get its link', async () => {
    await setPolicy(true);
    try {
      const { id } = await createPortalPatient(t);
      const newEmail = `approved.${id}@example.test`;
      const since = smtp.received.length;
      const res = await requestChange(staff, id, newEmail);
      expect(res.headers.location).toBe(`/patients/${id}?tab=portal&saved=email_approval`);
      expect(await mailsTo(newEmail, since)).toEqual([]);
      const [{ id: requestId }] = await t.dataSource.query('SELECT id FROM email_change_requests WHERE patient_id = ?', [id]);

      const tab = await staff.get(`/patients/${id}?tab=portal`).expect(200);
      expect(tab.text).toContain('You requested this: another staff member decides.');
      const own = await post(staff, `/patients/${id}/email-changes/${requestId}/approve`);
      expect(own.status).toBe(409);
      expect(own.text).toContain('A different staff member must approve');

      const colleagueTab = await colleague.get(`/patients/${id}?tab=portal`).expect(200);
      expect(colleagueTab.text).toContain(`Approve change to ${newEmail}`);
      await post(colleague, `/patients/${id}/email-changes/${requestId}/approve`).expect(303);
      const [verify] = await mailsTo(newEmail, since);
      expect((await press(await linkIn(verify, 'confirm'))).status).toBe(200);
      expect(await emailOf(id)).toBe(newEmail);
      const [approved] = await auditActions(t.dataSource, 'patient_id = ? AND action = ?', [id, 'patient.email_change_approved']);
      expect(Number(approved.actor_id)).toBe(colleague.user.id);
    } finally {
      await setPolicy(false);
    }
  });

  it('a rejected change changes nothing and its link is dead; only staff can decide and only admins see the queue', async () => {
    await setPolicy(true);
    try {
      const { id, email } = await createPortalPatient(t);
      await requestChange(staff, id, `rejected.${id}@example.test`);
      const [{ id: requestId }] = await t.dataSource.query('SELECT id FROM email_change_requests WHERE patient_id = ?', [id]);
      await post(admin, `/admin/email-changes/${requestId}/reject`).expect(303);
      expect(await emailOf(id)).toBe(email);
      expect((await t.dataSource.query('SELECT status FROM email_change_requests WHERE id = ?', [requestId]))[0].status).toBe(
        'rejected',
      );
      expect((await staff.get('/admin/email-changes')).status).toBe(403);
      expect((await request(t.server).post(`/patients/${id}/email-changes/${requestId}/approve`)).status).toBe(403);
    } finally {
      await setPolicy(false);
    }
  });
});
