import type { Browser, Page } from 'playwright-core';
import { PasswordHasher } from '../../src/auth/passwords/password-hasher.service';
import { usernameKey } from '../../src/portal-access/usernames';
import { collectPageErrors, expectAccessible, screenshot, signInThroughForm, signInToPortal } from '../support/browser';
import { addVirtualAuthenticator, startPasskeyBrowserStack } from '../support/passkeys';
import { createPortalPatient } from '../support/portal-patients';
import { addRepresentative } from '../support/representatives';
import { awayFromStepBoundary, totpCode } from '../support/second-factor';
import { auditActions } from '../support/sessions';
import { createStaffUser, signInAs } from '../support/staff';
import type { TestApp } from '../support/test-app';

const PASSWORD = 'saffron meadow kettle drumbeat';

const signIn = (page: Page, base: string, username: string) => signInToPortal(page, base, username, PASSWORD);

describe('a representative’s own second factor and language in a real browser (computed TOTP codes, Chromium’s virtual authenticator)', () => {
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

  it('sets up an authenticator app and a passkey, renames the passkey, and signs in with each as the second step', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Milo', lastName: 'Ferreira' });
    const staff = await signInAs(t);
    const rep = await addRepresentative(t, staff, patient.id, { fullName: 'Lucia Ferreira' });
    await t.dataSource.query(
      'UPDATE representative_accounts SET username = ?, username_key = ?, password_hash = ? WHERE id = ?',
      ['lucia.f', usernameKey('lucia.f'), await t.app.get(PasswordHasher).hash(PASSWORD), rep.accountId],
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await addVirtualAuthenticator(context, page);

    await signIn(page, base, 'lucia.f');
    await page.waitForURL(`${base}/portal`);
    await page.goto(`${base}/portal/account`);
    await page.getByRole('link', { name: 'Set it up' }).click();
    await page.waitForURL(`${base}/portal/account/second-factor`);
    const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    await awayFromStepBoundary();
    await page.getByLabel('Enter the 6-digit code the app now shows').fill(await totpCode(secret, -1));
    await page.getByRole('button', { name: 'Turn on the authenticator app' }).click();
    await page.waitForURL(`${base}/portal/account/second-factor/recovery-codes`);
    await expect(page.getByTestId('recovery-codes').locator('li').count()).resolves.toBe(10);
    await page.getByRole('link', { name: /I have saved my recovery codes/ }).click();
    await page.waitForURL(`${base}/portal/account`);

    // A passkey beside the app (the recovery codes exist already: back to this page).
    await page.goto(`${base}/portal/account/second-factor`);
    await page.getByLabel('Name for the new passkey').fill('My phone');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('The passkey “My phone” was added.', { exact: false }).waitFor();
    await page.getByLabel('New name for “My phone”').fill('Work laptop');
    await page.getByRole('button', { name: /Rename/ }).click();
    await page.getByText('The passkey “My phone” is now called “Work laptop”.').waitFor();
    await expect(page.getByTestId('passkey-row').locator('strong', { hasText: 'Work laptop' }).isVisible()).resolves.toBe(true);
    await expectAccessible(page, 'representative second factor with a passkey');
    await screenshot(page, 'representative-second-factor');

    // The passkey as the second step.
    await page.goto(`${base}/portal`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/portal/login`);
    await signIn(page, base, 'lucia.f');
    await page.waitForURL(`${base}/portal/login/second-step`);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${base}/portal`);
    await page.getByRole('heading', { name: 'Welcome, Lucia Ferreira' }).waitFor();

    // A code from the app as the second step; a wrong one first.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/portal/login`);
    await signIn(page, base, 'lucia.f');
    await page.waitForURL(`${base}/portal/login/second-step`);
    await page.getByLabel('Code from your app, or a recovery code').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('That code did not work.').isVisible()).resolves.toBe(true);
    await awayFromStepBoundary();
    await page.getByLabel('Code from your app, or a recovery code').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${base}/portal`);
    await page.getByRole('heading', { name: 'Welcome, Lucia Ferreira' }).waitFor();

    await page.goto(`${base}/portal/account`);
    await page.getByText('You renamed the passkey “My phone” to “Work laptop”.').waitFor();
    const factors = (
      await auditActions(
        t.dataSource,
        "actor_type = 'proxy' AND actor_id = ? AND action = 'representative.sign_in' AND outcome = 'success'",
        [rep.accountId],
      )
    ).map((event) => JSON.parse(event.details ?? '{}').factor ?? null);
    expect(factors).toEqual([null, 'passkey', 'totp']);
    // The refused code's page answers 401 (as a refused password does); nothing else failed.
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    await context.close();
  });

  it('staff choose the representative’s own language on the tab; their signed-in pages follow it', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Noa', lastName: 'Ibarra' });
    const staffAgent = await signInAs(t);
    const rep = await addRepresentative(t, staffAgent, patient.id, { fullName: 'Tomas Ibarra' });
    await t.dataSource.query(
      'UPDATE representative_accounts SET username = ?, username_key = ?, password_hash = ? WHERE id = ?',
      ['tomas.i', usernameKey('tomas.i'), await t.app.get(PasswordHasher).hash(PASSWORD), rep.accountId],
    );
    const staff = await createStaffUser(t, 'staff', 'Fran Frontdesk');
    const desk = await browser.newContext();
    const page = await desk.newPage();
    const errors = collectPageErrors(page);
    await signInThroughForm(page, base, staff.email, staff.password, `/patients/${patient.id}?tab=portal`);
    await page.getByText('Edit Tomas Ibarra', { exact: false }).first().click();
    await page.locator(`#rep-${rep.id}-language`).selectOption('es');
    await page.locator(`#rep-${rep.id}-reason`).fill('He reads Spanish');
    await page
      .locator(`#rep-${rep.id}-language`)
      .locator('xpath=ancestor::form')
      .getByLabel('I checked the authorisation')
      .check();
    await page.locator(`#rep-${rep.id}-language`).locator('xpath=ancestor::form').getByRole('button').last().click();
    await page.getByText('The representative’s details were saved.').waitFor();
    const [row] = await t.dataSource.query('SELECT language FROM representative_accounts WHERE id = ?', [rep.accountId]);
    expect(row.language).toBe('es');
    expect(errors).toEqual([]);
    await desk.close();

    const home = await browser.newContext();
    const portal = await home.newPage();
    await signIn(portal, base, 'tomas.i');
    await portal.waitForURL(`${base}/portal`);
    await expect(portal.locator('html').getAttribute('lang')).resolves.toBe('es');
    await home.close();
  });
});
