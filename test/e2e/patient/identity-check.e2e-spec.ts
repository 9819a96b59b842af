import request from 'supertest';
import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { IDENTITY_CHECK_ATTEMPTS } from '../../../src/portal/identity-check/identity-check.service';
import { csrfTokenOf } from '../../support/html';
import { answerIdentityCheck } from '../../support/identity-check';
import { createPortalPatient, portalAccountOf } from '../../support/portal-patients';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { createStaffUser } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'lantern orchard violin gravel';
const BORN = '1975-09-23';

describe('the identity check before a password is chosen', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: AuditContext;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL, CLINIC_NAME: 'Maple Street Clinic' });
    const user = await createStaffUser(t);
    staff = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** A patient born on BORN with an invite (or, with a username, a reset) link opened in a fresh agent. */
  async function openedLink(purpose: 'invite' | 'reset' = 'invite') {
    const patient = await createPortalPatient(t, {
      firstName: 'Wilhelmina',
      dateOfBirth: BORN,
      username: purpose === 'reset' ? `wil${Date.now() % 1000000}` : null,
    });
    const before = smtp.received.length;
    await t.app.get(InvitationsService).sendInvites([patient.id], staff);
    await t.app.get(MailSenderService).drainOnce();
    const link = await linkFrom(smtp, await smtp.waitForMailTo(String(patient.email), before), BASE_URL);
    expect(link.path.startsWith(`/portal/${purpose}/`)).toBe(true);
    const agent = request.agent(t.server);
    await agent.get(link.path).expect(303).expect('Location', `/portal/${purpose}`);
    return { patient, link, agent };
  }

  async function answer(agent: request.Agent, purpose: 'invite' | 'reset', dateOfBirth: string) {
    const step = await agent.get(`/portal/${purpose}`).expect(200);
    return agent
      .post(`/portal/${purpose}/identity`)
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), dateOfBirth });
  }

  const failuresOf = async (patientId: number) =>
    Number(
      (await t.dataSource.query('SELECT identity_failures FROM portal_tokens WHERE patient_id = ?', [patientId]))[0]
        .identity_failures,
    );
  const auditOf = async (patientId: number) =>
    (await t.dataSource.query('SELECT action, outcome, ip FROM audit_events WHERE patient_id = ? ORDER BY id', [
      patientId,
    ])) as Array<{
      action: string;
      outcome: string;
      ip: string | null;
    }>;

  it('asks the date of birth first, naming nobody, and shows the password form only after the right answer', async () => {
    const { patient, agent } = await openedLink();
    const step = await agent.get('/portal/invite').expect(200);
    expect(step.text).toContain('Confirm it is you');
    expect(step.text).toContain('name="dateOfBirth"');
    expect(step.text).not.toContain('Wilhelmina');
    expect(step.text).not.toContain('type="password"');
    // Opening the link and seeing the step consumed and counted nothing.
    expect(await failuresOf(patient.id)).toBe(0);

    // The password form cannot be skipped to: a direct POST sends the patient back to the check.
    await agent
      .post('/portal/invite')
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), username: `skip${patient.id}`, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(303)
      .expect('Location', '/portal/invite');
    expect((await portalAccountOf(t, patient.id)).username).toBeNull();

    await answer(agent, 'invite', BORN).then((res) => expect(res.headers.location).toBe('/portal/invite'));
    const form = await agent.get('/portal/invite').expect(200);
    expect(form.text).toContain('Hello Wilhelmina');
    expect(form.text).toContain('type="password"');
    await agent
      .post('/portal/invite')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username: `wil.ok${patient.id}`, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(200);
    expect((await portalAccountOf(t, patient.id)).username).toBe(`wil.ok${patient.id}`);
    const checked = (await auditOf(patient.id)).filter((row) => row.action === 'portal.identity_checked');
    expect(checked).toEqual([{ action: 'portal.identity_checked', outcome: 'success', ip: expect.any(String) }]);
  });

  it('counts a wrong date on the link, never echoes it, and says how many tries are left', async () => {
    const { patient, agent } = await openedLink();
    const wrong = await answer(agent, 'invite', '1975-09-24');
    expect(wrong.status).toBe(303);
    expect(wrong.headers.location).toBe('/portal/invite');
    const again = await agent.get('/portal/invite').expect(200);
    expect(again.text).toContain('That does not match our records');
    expect(again.text).toContain(`${IDENTITY_CHECK_ATTEMPTS - 1} tries left`);
    expect(again.text).not.toContain('1975-09-24');
    expect(again.text).not.toContain(BORN);
    expect(again.text).not.toContain('type="password"');
    expect(await failuresOf(patient.id)).toBe(1);
    // A reload shows the plain step again (the message was shown once).
    expect((await agent.get('/portal/invite').expect(200)).text).not.toContain('does not match');
    // The right answer still works after a wrong one.
    await answer(agent, 'invite', BORN).then((res) => expect(res.status).toBe(303));
    expect((await agent.get('/portal/invite').expect(200)).text).toContain('type="password"');
  });

  it('refuses something that is not a date with a message and counts nothing', async () => {
    const { patient, agent } = await openedLink();
    for (const notADate of ['', '1975-02-30', '23/09/1975']) {
      const res = await answer(agent, 'invite', notADate);
      expect(res.status).toBe(400);
      expect(res.text).toContain('Enter your date of birth.');
      expect(res.text).not.toContain(notADate || 'no-such-text');
    }
    expect(await failuresOf(patient.id)).toBe(0);
  });

  it(`revokes the link at the ${IDENTITY_CHECK_ATTEMPTS}th wrong answer, says to call the clinic, and audits it`, async () => {
    const { patient, link, agent } = await openedLink('reset');
    for (let i = 1; i < IDENTITY_CHECK_ATTEMPTS; i++) expect((await answer(agent, 'reset', '2001-01-01')).status).toBe(303);
    const last = await answer(agent, 'reset', '2001-01-01');
    expect(last.status).toBe(410);
    expect(last.text).toContain('Please call the clinic');
    expect(last.text).toContain('Maple Street Clinic');
    const [token] = await t.dataSource.query(
      'SELECT revoked_at, revoked_reason, identity_failures FROM portal_tokens WHERE patient_id = ?',
      [patient.id],
    );
    expect(token.revoked_at).not.toBeNull();
    expect(token.revoked_reason).toBe('identity_check');
    expect(Number(token.identity_failures)).toBe(IDENTITY_CHECK_ATTEMPTS);
    // Even the right answer is too late now, and the link itself is dead.
    await agent.get('/portal/reset').expect(410);
    await request(t.server).get(link.path).expect(410);
    const audit = await auditOf(patient.id);
    expect(audit.filter((row) => row.action === 'portal.identity_checked' && row.outcome === 'failure')).toHaveLength(
      IDENTITY_CHECK_ATTEMPTS,
    );
    expect(audit.filter((row) => row.action === 'portal.identity_locked')).toEqual([
      { action: 'portal.identity_locked', outcome: 'denied', ip: expect.any(String) },
    ]);
  });

  it('asks the same on a reset link, after which the reset form shows the username', async () => {
    const { agent } = await openedLink('reset');
    await answerIdentityCheck(agent, 'reset', BORN);
    const form = await agent.get('/portal/reset').expect(200);
    expect(form.text).toContain('Choose a new password');
    expect(form.text).toContain('portal-username');
  });
});
