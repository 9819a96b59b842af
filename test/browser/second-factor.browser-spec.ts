import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, screenshot } from '../support/browser';
import { addVirtualAuthenticator, localhostRelay } from '../support/passkeys';
import { awayFromStepBoundary, totpCode } from '../support/second-factor';
import { auditActions } from '../support/sessions';
import { createStaffUser } from '../support/staff';
import { startTestApp, TestApp } from '../support/test-app';

async function signInWithPassword(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('staff second factor in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let relay: Awaited<ReturnType<typeof localhostRelay>>;
  let base: string;
  beforeAll(async () => {
    relay = await localhostRelay();
    base = `http://localhost:${relay.port}`;
    t = await startTestApp({ PUBLIC_BASE_URL: base });
    relay.target((t.server.address() as { port: number }).port);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await relay?.close();
  });

  it('registers a passkey on Sign-in security and signs in with it as the second step (virtual authenticator)', async () => {
    const user = await createStaffUser(t, 'staff', 'Pia Passkey');
    const context: BrowserContext = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await addVirtualAuthenticator(context, page);

    await signInWithPassword(page, base, user.email, user.password);
    await page.waitForURL(`${base}/portal-onboarding`);
    await page.goto(`${base}/account/security`);
    await page.getByLabel('Name for the new passkey').fill('Work laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForLoadState('load');
    await page.getByRole('textbox', { name: 'Name of passkey Work laptop' }).waitFor();
    expect(await page.getByTestId('recovery-codes-left').textContent()).toContain('You have no recovery codes');
    await screenshot(page, 'second-factor-passkey-registered');

    await context.clearCookies();
    await signInWithPassword(page, base, user.email, user.password);
    await page.waitForURL(`${base}/login/second-factor`);
    await screenshot(page, 'second-factor-step');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${base}/portal-onboarding`);
    expect(await auditActions(t.dataSource, "actor_id = ? AND action = 'staff.second_factor'", [user.id])).toEqual([
      expect.objectContaining({ outcome: 'success', details: JSON.stringify({ method: 'passkey' }) }),
    ]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('turns on an authenticator app and signs in with its code through the real forms', async () => {
    const user = await createStaffUser(t, 'staff', 'Tom Totp');
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await signInWithPassword(page, base, user.email, user.password);
    await page.waitForURL(`${base}/portal-onboarding`);
    await page.goto(`${base}/account/security`);
    await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
    await page.waitForURL(`${base}/account/security/totp`);
    expect(
      await page.getByRole('img', { name: /QR code/ }).evaluate((img: { naturalWidth: number }) => img.naturalWidth),
    ).toBeGreaterThan(100);
    await screenshot(page, 'second-factor-totp-setup');
    const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s+/g, '');
    await awayFromStepBoundary();
    await page.getByLabel('Enter the 6-digit code the app now shows').fill(await totpCode(secret, -1));
    await page.getByRole('button', { name: 'Turn on the authenticator app' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    expect(await page.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    await page.getByRole('link', { name: /I have saved my recovery codes/ }).click();
    await page.waitForURL(`${base}/account/security`);

    await context.clearCookies();
    await signInWithPassword(page, base, user.email, user.password);
    await page.waitForURL(`${base}/login/second-factor`);
    await page.getByLabel('Code from your app, or a recovery code').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${base}/portal-onboarding`);
    expect(errors).toEqual([]);
    await context.close();
  });
});
