import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient } from '../../support/portal-patients';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const TOKEN = 'metrics-token-for-tests-0123456789';

/** One sample's value from Prometheus text, e.g. value(text, 'portal_emails_total{outcome="sent"}'). */
function value(text: string, sample: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line ? Number(line.slice(sample.length + 1)) : null;
}

describe('GET /metrics', () => {
  it('does not exist without METRICS_TOKEN', async () => {
    const t = await startTestApp();
    try {
      expect((await request(t.server).get('/metrics').set('Authorization', 'Bearer anything')).status).toBe(404);
    } finally {
      await t.close();
    }
  });

  describe('with METRICS_TOKEN', () => {
    let smtp: TestSmtpServer;
    let t: TestApp;
    const scrape = () => request(t.server).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    beforeAll(async () => {
      smtp = await startSmtpServer();
      t = await startTestApp({ SMTP_URL: smtp.url, METRICS_TOKEN: TOKEN });
    });
    afterAll(async () => {
      await t.close();
      await smtp.close();
    });

    it('needs its bearer token', async () => {
      expect((await request(t.server).get('/metrics')).status).toBe(401);
      const wrong = await request(t.server).get('/metrics').set('Authorization', `Bearer ${TOKEN}x`);
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(wrong.text).not.toContain('portal_');
    });

    it('counts requests per route template, the outbox, emails, sign-in failures and lockouts — with no patient data in labels', async () => {
      const patient = await createPortalPatient(t, {
        firstName: 'Octavia',
        lastName: 'Metrical',
        email: 'octavia.m@example.test',
      });
      const staff = await signInAs(t);
      await staff.get(`/patients/${patient.id}`).expect(200);
      await staff
        .post(`/portal-onboarding/patients/${patient.id}/invite`)
        .set('X-CSRF-Token', staff.csrf)
        .set('HX-Request', 'true')
        .expect(200);

      const queued = await scrape().expect(200);
      expect(queued.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
      expect(value(queued.text, 'portal_mail_outbox_emails{status="pending"}')).toBe(1);
      expect(value(queued.text, 'portal_emails_total{outcome="sent"}')).toBe(0);

      await t.app.get(MailSenderService).drainOnce();
      await smtp.waitFor(1);
      // Five wrong passwords lock the account.
      const anon = request.agent(t.server);
      const login = await anon.get('/login').expect(200);
      for (let i = 0; i < 6; i++)
        await anon
          .post('/login')
          .type('form')
          .send({ _csrf: csrfTokenOf(login.text), email: staff.user.email, password: `wrong password number ${i}` });

      const text = (await scrape().expect(200)).text;
      expect(value(text, 'portal_mail_outbox_emails{status="sent"}')).toBe(1);
      // The lockout's notice to the staff member waits in the outbox like any email.
      expect(value(text, 'portal_mail_outbox_emails{status="pending"}')).toBe(1);
      expect(value(text, 'portal_emails_total{outcome="sent"}')).toBe(1);
      expect(value(text, 'portal_emails_total{outcome="failed"}')).toBe(0);
      expect(value(text, 'portal_emails_total{outcome="bounced"}')).toBe(0);
      expect(value(text, 'portal_sign_in_failures_total{audience="staff"}')).toBeGreaterThanOrEqual(5);
      expect(value(text, 'portal_lockouts_total{audience="staff"}')).toBe(1);
      expect(text).toContain('# TYPE portal_import_runs_total counter');
      expect(text).toContain('# TYPE portal_reminder_runs_total counter');
      expect(value(text, 'portal_http_requests_total{method="GET",route="/patients/:id",status="200"}')).toBe(1);
      expect(
        value(text, 'portal_http_requests_total{method="POST",route="/portal-onboarding/patients/:id/invite",status="200"}'),
      ).toBe(1);
      expect(value(text, 'portal_http_request_duration_seconds_count{method="GET",route="/patients/:id"}')).toBe(1);
      expect(text).toContain('portal_process_resident_memory_bytes');
      for (const leak of ['Octavia', 'Metrical', 'octavia.m@example.test', staff.user.email, `/patients/${patient.id}"`])
        expect({ leak, found: text.includes(leak) }).toEqual({ leak, found: false });
    });
  });
});
