import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { PatientAccountsService } from '../../../src/portal/patient-accounts.service';
import { PatientDashboardService } from '../../../src/portal-access/patient-dashboard.service';
import { csrfTokenOf } from '../../support/html';
import { answerIdentityCheck } from '../../support/identity-check';
import { createPortalPatient } from '../../support/portal-patients';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const PATIENT_PASSWORD = 'marble teapot horizon juniper';
const NEW_PATIENT_PASSWORD = 'velvet glacier compass meadow';
const WRONG_PASSWORD = 'definitely not the password 42';

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  [key: string]: unknown;
}

describe('log lines never carry tokens, passwords, emails, session ids or patient names', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  const raw: string[] = [];
  const lines = () => raw.map((line) => JSON.parse(line) as LogLine);

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, LOG_LEVEL: 'debug' }, undefined, {
      logStream: { write: (line: string) => void raw.push(line.trimEnd()) },
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('through an invite, a reset, sign-in failures and error pages', async () => {
    const secrets: string[] = [PATIENT_PASSWORD, NEW_PATIENT_PASSWORD, WRONG_PASSWORD];
    const patient = await createPortalPatient(t, {
      firstName: 'Zebulon',
      lastName: 'Quackenbush',
      email: 'zebulon.q@example.test',
    });
    secrets.push('Zebulon', 'Quackenbush', 'zebulon.q@example.test');
    const staff = await signInAs(t);
    secrets.push(staff.user.email, staff.user.email.split('@')[0]);

    // Invite from the onboarding row (a real POST), sent through a real SMTP server, opened and used.
    await staff
      .post(`/portal-onboarding/patients/${patient.id}/invite`)
      .set('X-CSRF-Token', staff.csrf)
      .set('HX-Request', 'true')
      .expect(200);
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(1);
    const invite = await linkFrom(smtp, smtp.received[0], t.config.publicBaseUrl);
    secrets.push(invite.token);
    const patientAgent = request.agent(t.server);
    const opened = await patientAgent.get(invite.path).expect(303);
    const sid = /^[^=]+=([^;]+)/.exec(String(opened.headers['set-cookie']))![1];
    secrets.push(decodeURIComponent(sid), decodeURIComponent(sid).replace(/^s:/, '').split('.')[0]);
    await answerIdentityCheck(patientAgent, 'invite');
    const form = await patientAgent.get('/portal/invite').expect(200);
    await patientAgent
      .post('/portal/invite')
      .type('form')
      .send({
        _csrf: csrfTokenOf(form.text),
        username: 'zeb.quack',
        password: PATIENT_PASSWORD,
        confirmPassword: PATIENT_PASSWORD,
      })
      .redirects(1)
      .expect(200);
    secrets.push('zeb.quack');

    // A reset asked for by email address, and used.
    const forgot = await patientAgent.get('/portal/forgot-password').expect(200);
    await patientAgent
      .post('/portal/forgot-password')
      .type('form')
      .send({ _csrf: csrfTokenOf(forgot.text), identifier: 'zebulon.q@example.test' })
      .redirects(1)
      .expect(200);
    await t.app.get(PatientAccountsService).resetsSettled();
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(2);
    const reset = await linkFrom(smtp, smtp.received[1], t.config.publicBaseUrl);
    secrets.push(reset.token);
    await patientAgent.get(reset.path).expect(303);
    await answerIdentityCheck(patientAgent, 'reset');
    const resetForm = await patientAgent.get('/portal/reset').expect(200);
    await patientAgent
      .post('/portal/reset')
      .type('form')
      .send({ _csrf: csrfTokenOf(resetForm.text), password: NEW_PATIENT_PASSWORD, confirmPassword: NEW_PATIENT_PASSWORD })
      .redirects(1)
      .expect(200);

    // Sign-in failures, staff and patient.
    const anon = request.agent(t.server);
    const login = await anon.get('/login').expect(200);
    expect(
      (
        await anon
          .post('/login')
          .type('form')
          .send({ _csrf: csrfTokenOf(login.text), email: staff.user.email, password: WRONG_PASSWORD })
      ).status,
    ).toBe(401);
    const portalLogin = await anon.get('/portal/login').expect(200);
    expect(
      (
        await anon
          .post('/portal/login')
          .type('form')
          .send({ _csrf: csrfTokenOf(portalLogin.text), username: 'zeb.quack', password: WRONG_PASSWORD })
      ).status,
    ).toBe(401);

    // Error pages: a 404 whose URL holds a token and an email, and a 500 whose (database-style) error message quotes them all.
    const notFound = await anon
      .get(`/no-such-page/${invite.token}?email=zebulon.q%40example.test&name=Zebulon`)
      .set('Accept', 'text/html')
      .expect(404);
    expect(notFound.text).toContain(`Reference: ${notFound.headers['x-request-id']}`);
    const spy = jest
      .spyOn(PatientDashboardService.prototype, 'model')
      .mockRejectedValueOnce(
        new Error(
          `Duplicate entry 'Zebulon Quackenbush' for key 'x' while mailing <zebulon.q@example.test> with ${invite.token}`,
        ),
      );
    const failed = await staff.get(`/patients/${patient.id}`).set('Accept', 'text/html').expect(500);
    spy.mockRestore();
    const reference = String(failed.headers['x-request-id']);
    expect(reference).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(failed.text).toContain(`Reference: ${reference}`);

    await new Promise((resolve) => setTimeout(resolve, 50));
    const all = raw.join('\n');
    for (const secret of secrets) expect({ secret, found: all.includes(secret) }).toEqual({ secret, found: false });
    expect(all).not.toMatch(/\x1b\[/);

    // The 500 is logged once, with its stack, under the reference the page shows; the request lines carry ids too.
    const errorLines = lines().filter((line) => line.level >= 50);
    expect(errorLines).toEqual([
      expect.objectContaining({ reqId: reference, msg: expect.stringContaining(`GET /patients/${patient.id} failed`) }),
    ]);
    expect(JSON.stringify(errorLines[0])).toContain('[email]');
    const requestLines = lines().filter((line) => 'responseTime' in line);
    expect(requestLines.length).toBeGreaterThan(15);
    expect(requestLines.filter((line) => typeof line.reqId !== 'string' || line.level !== 20)).toEqual([]);
    expect(requestLines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^GET \/portal\/invite\/\[token\] 303 \d+ ms$/),
        expect.stringMatching(/^GET \/no-such-page\/\[token\]\?email=…&name=… 404/),
      ]),
    );
    // No per-route mapping lines at info level.
    expect(lines().filter((line) => line.level >= 30 && /Mapped \{/.test(line.msg))).toEqual([]);
  });
});
