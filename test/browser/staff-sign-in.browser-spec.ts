import type { Browser } from 'playwright-core';
import { collectPageErrors, launchBrowser, screenshot } from '../support/browser';
import { createStaffUser } from '../support/staff';
import { startTestApp, TestApp } from '../support/test-app';

describe('a staff member in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp();
    browser = await launchBrowser();
    const address = t.server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signs in through the form and sees the Pt Portal menu, with no script or CSP errors', async () => {
    const user = await createStaffUser(t, 'admin', 'Ada Admin');
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${base}/account/password`);
    expect(page.url()).toContain('/login?next=%2Faccount%2Fpassword');
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/account/password`);
    await screenshot(page, 'staff-signed-in');

    const menu = page.getByRole('navigation', { name: 'Main' });
    await menu.getByRole('button', { name: 'Pt Portal' }).hover();
    await expect(menu.getByRole('link', { name: 'Pt Portal Onboarding Tool' }).isVisible()).resolves.toBe(true);
    await menu.getByRole('button', { name: 'Admin', exact: true }).focus();
    await expect(menu.getByRole('link', { name: 'Staff users' }).isVisible()).resolves.toBe(true);
    expect(await page.evaluate('typeof window.htmx')).toBe('object');
    expect(errors).toEqual([]);
    await context.close();
  });
});
