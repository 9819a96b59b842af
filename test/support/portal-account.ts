import request from 'supertest';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { csrfTokenOf } from './html';
import type { TestSmtpServer } from './smtp-server';
import type { TestApp } from './test-app';

/** A portal agent that carries the CSRF token of the last page it read. */
export type PortalAgent = request.Agent & { csrf: string };

/** The portal's password step through the real form; the agent carries the CSRF token of the page it lands on. */
export async function portalPasswordStep(
  t: TestApp,
  username: string,
  password: string,
): Promise<{ agent: PortalAgent; location: string }> {
  const agent = request.agent(t.server) as PortalAgent;
  const page = await agent.get('/portal/login').expect(200);
  const res = await agent
    .post('/portal/login')
    .type('form')
    .send({ _csrf: csrfTokenOf(page.text), username, password })
    .expect(303);
  const location = String(res.headers.location);
  agent.csrf = csrfTokenOf((await agent.get(location).redirects(1)).text);
  return { agent, location };
}

/** A JSON POST as the account page's scripts send it (the token in a header). */
export const portalJson = (agent: PortalAgent, url: string, body: object = {}) =>
  agent.post(url).set('X-CSRF-Token', agent.csrf).set('Accept', 'application/json').send(body);

/** The next email to `address` after `before` whose subject matches (earlier ones to it are skipped). */
export async function nextMailTo(t: TestApp, smtp: TestSmtpServer, address: string, before: number, subject: RegExp) {
  for (let since = before; ;) {
    await t.app.get(MailSenderService).drainOnce();
    const received = await smtp.waitForMailTo(address, since);
    const mail = await smtp.parse(received);
    if (subject.test(mail.subject ?? '')) return mail;
    since = smtp.received.indexOf(received) + 1;
  }
}
