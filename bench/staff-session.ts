import { generate } from 'otplib';
import { TOTP_PERIOD_SECONDS } from '../src/auth/mfa/totp.service';
import { csrfTokenOf } from '../test/support/html';

/** A signed-in staff browser session over plain HTTP: the cookie and the session's CSRF token. */
export interface StaffSession {
  cookie: string;
  csrf: string;
}

/** Minimal cookie-keeping client: no redirects followed, so each step's answer is checked. */
class Client {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly baseUrl: string) {}

  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(
    method: 'GET' | 'POST',
    path: string,
    form?: Record<string, string>,
  ): Promise<{ status: number; location: string; text: string }> {
    const res = await fetch(this.baseUrl + path, {
      method,
      redirect: 'manual',
      headers: { cookie: this.cookie, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: res.status, location: res.headers.get('location') ?? '', text: await res.text() };
  }

  async expect(method: 'GET' | 'POST', path: string, status: number, form?: Record<string, string>) {
    const res = await this.request(method, path, form);
    if (res.status !== status)
      throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${res.location}\n${res.text.slice(0, 500)}`);
    return res;
  }
}

/**
 * The first admin's first sign-in, as a person does it through the forms: the one-time
 * password, the forced password change and — because production requires a second factor
 * for staff by default — enrolment of an authenticator app (codes computed with otplib).
 */
export async function firstSignIn(baseUrl: string, email: string, oneTimePassword: string): Promise<StaffSession> {
  const client = new Client(baseUrl);
  const login = await client.expect('GET', '/login', 200);
  await client.expect('POST', '/login', 303, { _csrf: csrfTokenOf(login.text), email, password: oneTimePassword });
  // A one-time password: every page now sends the user to the password change.
  const passwordPage = await client.expect('GET', '/account/password', 200);
  const newPassword = 'bench marks the onboarding page 4 times over';
  let next = await client.request('POST', '/account/password', {
    _csrf: csrfTokenOf(passwordPage.text),
    currentPassword: oneTimePassword,
    newPassword,
    confirmPassword: newPassword,
  });
  if (next.status === 303 && next.location === '/login/second-factor/enrol') {
    const enrol = await client.expect('GET', '/login/second-factor/enrol', 200);
    const secret = /data-testid="totp-secret">([^<]+)</.exec(enrol.text)![1].replace(/\s+/g, '');
    const code = await generate({ secret, period: TOTP_PERIOD_SECONDS });
    next = await client.request('POST', '/login/second-factor/enrol/totp', { _csrf: csrfTokenOf(enrol.text), code });
  }
  if (next.status !== 200 && next.status !== 303)
    throw new Error(`sign-in did not complete: ${next.status}\n${next.text.slice(0, 500)}`);
  const page = await client.expect('GET', '/portal-onboarding', 200);
  return { cookie: client.cookie, csrf: csrfTokenOf(page.text) };
}
