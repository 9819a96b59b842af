import type { Browser } from 'playwright-core';
import { SetupTokenService } from '../../src/setup/setup-token.service';
import { collectPageErrors, launchBrowser, screenshot } from '../support/browser';
import { startTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'quiet lantern over seven hills';

describe('the first admin in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp();
    browser = await launchBrowser();
    base = `http://127.0.0.1:${(t.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('opens the printed setup link, fills the form with their own password and lands signed in; the token leaves the address bar', async () => {
    const printed = new URL((await t.app.get(SetupTokenService).issueLinkIfNeeded())!);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${base}${printed.pathname}${printed.search}`);
    expect(page.url()).toBe(`${base}/setup`);
    expect(await page.content()).not.toContain(printed.searchParams.get('token'));
    await screenshot(page, 'first-run-setup', { readme: true });
    await page.setViewportSize({ width: 400, height: 800 });
    await screenshot(page, 'first-run-setup-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });

    await page.getByLabel('Your name').fill('Ada Admin');
    await page.getByLabel('Your email').fill('ada@clinic.test');
    await page.getByLabel('Choose a password').fill(PASSWORD);
    await page.getByLabel('The password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await page.waitForURL(`${base}/portal-onboarding`);
    const menu = page.getByRole('navigation', { name: 'Main' });
    await expect(menu.getByRole('button', { name: 'Admin', exact: true }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'first-run-setup-done');
    expect(errors).toEqual([]);

    // Once an admin exists, the page is gone.
    const gone = await page.goto(`${base}/setup`);
    expect(gone?.status()).toBe(404);
    expect(await page.getByRole('heading', { name: 'Page not found' }).isVisible()).toBe(true);
    await context.close();
  });
});
