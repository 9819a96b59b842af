import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, screenshot } from '../support/browser';
import { createStaffUser } from '../support/staff';
import { startTestApp, TestApp } from '../support/test-app';

async function signIn(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

describe('staff: signing out another session from Sign-in security, in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp();
    base = `http://127.0.0.1:${(t.server.address() as { port: number }).port}`;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists both browsers, signs the other one out, and that one is sent to sign-in', async () => {
    const user = await createStaffUser(t, 'staff', 'Sven Sessions');
    const laptop = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const phone = await (await browser.newContext({ viewport: { width: 400, height: 800 } })).newPage();
    const errors = collectPageErrors(laptop);
    await signIn(laptop, base, user.email, user.password);
    await signIn(phone, base, user.email, user.password);

    await laptop.goto(`${base}/account/security`);
    const rows = laptop.getByTestId('staff-session');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain('(this browser)');
    await screenshot(laptop, 'staff-sessions-1280');
    await phone.goto(`${base}/account/security`);
    await screenshot(phone, 'staff-sessions-400');

    await laptop.getByRole('button', { name: /^Sign out the session of / }).click();
    await laptop.getByText('That session has been signed out.').waitFor();
    expect(await laptop.getByTestId('staff-session').count()).toBe(1);

    await phone.reload();
    await phone.waitForURL((url) => url.pathname === '/login');
    expect(errors).toEqual([]);
  });
});
