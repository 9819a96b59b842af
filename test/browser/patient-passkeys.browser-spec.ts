import type { Browser, Page } from 'playwright-core';
import { PasswordHasher } from '../../src/auth/passwords/password-hasher.service';
import { collectPageErrors, expectAccessible, screenshot, signInToPortal } from '../support/browser';
import { addVirtualAuthenticator, startPasskeyBrowserStack } from '../support/passkeys';
import { createPortalPatient } from '../support/portal-patients';
import { auditActions } from '../support/sessions';
import type { TestApp } from '../support/test-app';

const PASSWORD = 'harbour lantern quince meadow';

const signIn = (page: Page, base: string, username: string) => signInToPortal(page, base, username, PASSWORD);

describe('a patient’s passkey in a real browser (Chromium’s virtual authenticator)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let stack: Awaited<ReturnType<typeof startPasskeyBrowserStack>> | undefined;
  // Generous: the app and Chromium start on a loaded 2-core machine.
  beforeAll(async () => {
    stack = await startPasskeyBrowserStack();
    ({ t, browser, base } = stack);
  }, 300_000);
  afterAll(async () => stack?.close());

  it('adds a passkey on the account page, signs in with it after the password, and removes it with the password', async () => {
    const patient = await createPortalPatient(t, { username: 'paloma.passkey', firstName: 'Paloma' });
    const hash = await t.app.get(PasswordHasher).hash(PASSWORD);
    await t.dataSource.query('UPDATE portal_accounts SET password_hash = ? WHERE patient_id = ?', [hash, patient.id]);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await addVirtualAuthenticator(context, page);

    await signIn(page, base, 'paloma.passkey');
    await page.waitForURL(`${base}/portal`);
    await page.goto(`${base}/portal/account`);
    await page.getByRole('link', { name: 'Set it up' }).click();
    await page.waitForURL(`${base}/portal/account/second-factor`);
    await page.getByLabel('Name for the new passkey').fill('My phone');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForURL(`${base}/portal/account/second-factor/recovery-codes`);
    await expect(page.getByTestId('recovery-codes').locator('li').count()).resolves.toBe(10);
    await page.getByRole('link', { name: /I have saved my recovery codes/ }).click();
    await page.waitForURL(`${base}/portal/account`);
    await expect(page.getByText('Signing in can use your passkey (1 registered).').isVisible()).resolves.toBe(true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/portal/login`);
    await signIn(page, base, 'paloma.passkey');
    await page.waitForURL(`${base}/portal/login/second-step`);
    await screenshot(page, 'patient-passkey-second-step');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${base}/portal`);
    await expect(page.getByRole('heading', { name: 'Welcome, Paloma' }).isVisible()).resolves.toBe(true);
    const [signedIn] = (
      await auditActions(t.dataSource, "patient_id = ? AND action = 'patient.sign_in' AND outcome = 'success'", [patient.id])
    ).slice(-1);
    expect(JSON.parse(signedIn.details!)).toEqual({ factor: 'passkey' });

    await page.goto(`${base}/portal/account/second-factor`);
    await expect(page.getByTestId('passkey-row').locator('strong', { hasText: 'My phone' }).isVisible()).resolves.toBe(true);
    await expectAccessible(page, 'patient second factor with a passkey');
    await screenshot(page, 'patient-passkeys-1280');
    await page.setViewportSize({ width: 400, height: 900 });
    await screenshot(page, 'patient-passkeys-400');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByLabel('Your password, to remove “My phone”').fill('not the password at all');
    await page.getByRole('button', { name: /Remove passkey/ }).click();
    await expect(page.getByText('That is not your password.').isVisible()).resolves.toBe(true);
    await page.getByLabel('Your password, to remove “My phone”').fill(PASSWORD);
    await page.getByRole('button', { name: /Remove passkey/ }).click();
    await expect(page.getByText('The passkey “My phone” was removed.').isVisible()).resolves.toBe(true);
    await expect(page.getByText('No passkeys yet.').isVisible()).resolves.toBe(true);
    // The refused password's page answers 400 (a form with an error); nothing else failed.
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    await context.close();
  });
});
