import { generate } from 'otplib';
import request from 'supertest';
import { TOTP_PERIOD_SECONDS } from '../../src/auth/mfa/totp.service';
import { csrfTokenOf } from './html';
import { createStaffUser } from './staff';
import type { TestApp } from './test-app';
import type { StaffRole } from '../../src/auth/entities/staff-user.entity';

type Agent = request.Agent & { csrf: string };

/** The code an authenticator app shows `steps` time steps from now (computed with otplib, like an app would). */
export function totpCode(secret: string, steps = 0): Promise<string> {
  return generate({ secret, period: TOTP_PERIOD_SECONDS, epoch: Math.floor(Date.now() / 1000) + steps * TOTP_PERIOD_SECONDS });
}

/** Waits past a step boundary when one is near, so a test's codes keep their step while it runs. */
export async function awayFromStepBoundary(marginSeconds = 6): Promise<void> {
  const intoStep = (Date.now() / 1000) % TOTP_PERIOD_SECONDS;
  if (intoStep > TOTP_PERIOD_SECONDS - marginSeconds)
    await new Promise((resolve) => setTimeout(resolve, (TOTP_PERIOD_SECONDS - intoStep + 0.2) * 1000));
}

/** The base32 key shown as text beside the QR code. */
export function totpSecretOf(html: string): string {
  const match = /data-testid="totp-secret">([^<]+)</.exec(html);
  if (!match) throw new Error('No TOTP secret in the page');
  return match[1].replace(/\s+/g, '');
}

export function recoveryCodesOf(html: string): string[] {
  const list = /data-testid="recovery-codes">([\s\S]*?)<\/ol>/.exec(html);
  return list ? [...list[1].matchAll(/<code>([^<]+)<\/code>/g)].map((match) => match[1]) : [];
}

/**
 * A signed-in agent turns on an authenticator app through /account/security. The app is
 * confirmed with the previous step's code, so the current and next codes stay usable for sign-in.
 */
export async function enrolTotp(agent: Agent): Promise<{ secret: string; recoveryCodes: string[] }> {
  await awayFromStepBoundary();
  const setup = await agent.get('/account/security/totp').expect(200);
  const secret = totpSecretOf(setup.text);
  const res = await confirmWithPreviousStep(secret, (code) =>
    agent
      .post('/account/security/totp')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(setup.text), code }),
  );
  if (res.status !== 200) throw new Error(`TOTP enrolment failed with ${res.status}`);
  return { secret, recoveryCodes: recoveryCodesOf(res.text) };
}

/** A half-signed-in agent on the policy's enrolment page confirms an authenticator app and is signed in. */
export async function enrolAtSignIn(agent: Agent): Promise<{ secret: string; recoveryCodes: string[]; res: request.Response }> {
  await awayFromStepBoundary();
  const page = await agent.get('/login/second-factor/enrol').expect(200);
  const secret = totpSecretOf(page.text);
  const res = await confirmWithPreviousStep(secret, (code) =>
    agent
      .post('/login/second-factor/enrol/totp')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), code }),
  );
  if (res.status !== 200) throw new Error(`TOTP enrolment at sign-in failed with ${res.status}`);
  return { secret, recoveryCodes: recoveryCodesOf(res.text), res };
}

const stepNow = () => Math.floor(Date.now() / 1000 / TOTP_PERIOD_SECONDS);

/**
 * Confirms an enrolment with the previous step's code. The server accepts the current step ±1, so
 * that code is refused only when a step boundary passes while the request is in flight (seen on a
 * loaded CI machine); then, and only then, it is confirmed once more with the new previous step.
 */
async function confirmWithPreviousStep(secret: string, send: (code: string) => request.Test): Promise<request.Response> {
  const before = stepNow();
  const res = await send(await totpCode(secret, -1));
  if (res.status === 400 && stepNow() !== before) return send(await totpCode(secret, -1));
  return res;
}

/** A signed-in staff user with an authenticator app (and their recovery codes), whether or not the policy is on. */
export async function createStaffUserWithTotp(t: TestApp, role: StaffRole = 'staff', name?: string) {
  const user = await createStaffUser(t, role, name);
  const { agent, location } = await passwordStep(t, user.email, user.password);
  const { secret, recoveryCodes } =
    location === '/login/second-factor/enrol' ? await enrolAtSignIn(agent) : await enrolTotp(agent);
  return { ...user, secret, recoveryCodes, agent };
}

/** The password step only: an agent in the half-signed-in state, and where the form sent it. */
export async function passwordStep(t: TestApp, email: string, password: string): Promise<{ agent: Agent; location: string }> {
  const agent = request.agent(t.server) as Agent;
  const page = await agent.get('/login').expect(200);
  const res = await agent
    .post('/login')
    .type('form')
    .send({ _csrf: csrfTokenOf(page.text), email, password });
  if (res.status !== 303) throw new Error(`password step failed with ${res.status}`);
  agent.csrf = csrfTokenOf(page.text);
  return { agent, location: res.headers.location };
}

/** Posts a code on the second-step page (with that page's CSRF token). */
export async function submitSecondFactor(agent: Agent, code: string) {
  const page = await agent.get('/login/second-factor').expect(200);
  agent.csrf = csrfTokenOf(page.text);
  return agent.post('/login/second-factor').type('form').send({ _csrf: agent.csrf, code });
}

/** Password plus a TOTP code through the real forms: a signed-in agent. */
export async function signInWithTotp(t: TestApp, email: string, password: string, secret: string, steps = 0): Promise<Agent> {
  const { agent } = await passwordStep(t, email, password);
  const res = await submitSecondFactor(agent, await totpCode(secret, steps));
  if (res.status !== 303) throw new Error(`second step failed with ${res.status}`);
  const after = await agent.get('/account/security').expect(200);
  agent.csrf = csrfTokenOf(after.text);
  return agent;
}
