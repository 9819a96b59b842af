import type { Page } from 'playwright-core';
import { PasswordHasher } from '../../src/auth/passwords/password-hasher.service';
import { BrowserStack, collectPageErrors, screenshot, startBrowserStack, signInToPortal } from '../support/browser';
import { createPortalPatient } from '../support/portal-patients';
import { awayFromStepBoundary, totpCode } from '../support/second-factor';

const PASSWORD = 'harbour lantern quince meadow';

const signIn = (page: Page, base: string, username: string) => signInToPortal(page, base, username, PASSWORD);

describe('the patient’s account page in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack();
  });
  afterAll(async () => stack?.close());

  async function patientWithPassword(username: string) {
    const patient = await createPortalPatient(stack.t, { username, firstName: 'Teodora' });
    const hash = await stack.t.app.get(PasswordHasher).hash(PASSWORD);
    await stack.t.dataSource.query('UPDATE portal_accounts SET password_hash = ? WHERE patient_id = ?', [hash, patient.id]);
    return patient;
  }

  it('signs another browser out at once from the account page', async () => {
    const { browser, base } = stack;
    await patientWithPassword('teodora.sessions');
    const laptop = await browser.newContext();
    const phone = await browser.newContext();
    const laptopPage = await laptop.newPage();
    const phonePage = await phone.newPage();
    const errors = collectPageErrors(laptopPage);
    await signIn(phonePage, base, 'teodora.sessions');
    await phonePage.waitForURL(`${base}/portal`);
    await signIn(laptopPage, base, 'teodora.sessions');
    await laptopPage.waitForURL(`${base}/portal`);

    await laptopPage.getByRole('link', { name: 'Your account' }).click();
    await laptopPage.waitForURL(`${base}/portal/account`);
    await expect(laptopPage.getByText('(this device)').isVisible()).resolves.toBe(true);
    await screenshot(laptopPage, 'patient-account-page');
    await laptopPage.getByRole('button', { name: /Sign out all other sessions/ }).click();
    await laptopPage.waitForURL(`${base}/portal/account`);
    await expect(laptopPage.getByText('Signed out 1 other session.').isVisible()).resolves.toBe(true);

    await phonePage.reload();
    await phonePage.waitForURL(/\/portal\/login/);
    await laptopPage.goto(`${base}/portal`);
    await expect(laptopPage.getByRole('heading', { name: 'Welcome, Teodora' }).isVisible()).resolves.toBe(true);
    expect(errors).toEqual([]);
    await laptop.close();
    await phone.close();
  });

  it('sets up an authenticator app (computed codes) and signs in with the second step', async () => {
    const { browser, base } = stack;
    await patientWithPassword('teodora.mfa');
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await signIn(page, base, 'teodora.mfa');
    await page.waitForURL(`${base}/portal`);
    await page.goto(`${base}/portal/account`);
    await page.getByRole('link', { name: 'Set it up' }).click();
    await page.waitForURL(`${base}/portal/account/second-factor`);
    await expect(page.getByRole('img', { name: /QR code/ }).isVisible()).resolves.toBe(true);
    const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    await awayFromStepBoundary();
    await page.getByLabel('Enter the 6-digit code the app now shows').fill(await totpCode(secret, -1));
    await page.getByRole('button', { name: 'Turn on the authenticator app' }).click();
    await page.waitForURL(`${base}/portal/account/second-factor/recovery-codes`);
    await expect(page.getByTestId('recovery-codes').locator('li').count()).resolves.toBe(10);
    await screenshot(page, 'patient-recovery-codes');
    await page.getByRole('link', { name: /I have saved my recovery codes/ }).click();
    await page.waitForURL(`${base}/portal/account`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/portal/login`);

    await signIn(page, base, 'teodora.mfa');
    await page.waitForURL(`${base}/portal/login/second-step`);
    await page.getByLabel('Code from your app, or a recovery code').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('That code did not work.').isVisible()).resolves.toBe(true);
    await awayFromStepBoundary();
    await page.getByLabel('Code from your app, or a recovery code').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${base}/portal`);
    await expect(page.getByRole('heading', { name: 'Welcome, Teodora' }).isVisible()).resolves.toBe(true);
    // The refused code's page itself answers 401 (as a refused password does); nothing else failed.
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    await context.close();
  });
});
