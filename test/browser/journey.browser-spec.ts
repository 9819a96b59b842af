import type { Page } from 'playwright-core';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { addPatient, seedPatients } from '../e2e/staff/onboarding-fixtures';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { confirmDateOfBirthInBrowser } from '../support/identity-check';
import { portalAccountOf } from '../support/portal-patients';
import { linkFrom } from '../support/smtp-server';
import { createStaffUser } from '../support/staff';

const PUBLIC_BASE_URL = 'https://portal.clinic.test';
/** A step's screenshot under test-artifacts/; the README's ones also go to docs/screenshots/journey-*.png. */
async function step(page: Page, name: string, readme = false): Promise<void> {
  await screenshot(page, `journey-${name}`, { readme });
}

describe('the whole journey in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack({ PUBLIC_BASE_URL });
  });
  afterAll(async () => stack?.close());

  it('an admin adds a staff user, who enables and invites a patient; the patient sets up the account and signs in; the row turns green', async () => {
    const { t, smtp, browser, base } = stack;
    await seedPatients(t, 60, 21);
    const juniper = await addPatient(t, {
      firstName: 'Juniper',
      lastName: 'Journeyman',
      email: 'juniper.journeyman@example.test',
      dateOfBirth: '1991-07-14',
      status: 'red',
    });
    const admin = await createStaffUser(t, 'admin', 'Ada Admin');

    // The admin signs in through the form and adds a staff user; the one-time password is shown once.
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const adminPage = await adminContext.newPage();
    const adminErrors = collectPageErrors(adminPage);
    await signInThroughForm(adminPage, base, admin.email, admin.password, '/admin/users');
    await adminPage.getByRole('link', { name: 'Add a staff user' }).click();
    await adminPage.getByLabel('Name').fill('Sam Staffer');
    await adminPage.getByLabel('Email').fill('sam.staffer@clinic.test');
    await adminPage.getByLabel('Role').selectOption('staff');
    await adminPage.getByRole('button', { name: 'Create staff user' }).click();
    await adminPage.getByRole('heading', { name: 'Staff user created' }).waitFor();
    const oneTimePassword = (await adminPage.getByTestId('temporary-password').textContent())!.trim();
    expect(oneTimePassword.length).toBeGreaterThanOrEqual(12);
    await step(adminPage, '1-staff-user-created', true);
    expect(adminErrors).toEqual([]);
    await adminContext.close();

    // The new staff user signs in with it and must choose their own password first.
    const staffContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await staffContext.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill('sam.staffer@clinic.test');
    await page.getByLabel('Password').fill(oneTimePassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/account/password`);
    const ownPassword = 'lantern quarry velvet harbour';
    await page.getByLabel('Current password').fill(oneTimePassword);
    await page.getByLabel('New password', { exact: true }).fill(ownPassword);
    await page.getByLabel('New password again').fill(ownPassword);
    await step(page, '2-staff-changes-password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password has been changed.').waitFor();

    // The onboarding list, filtered by name.
    await page.goto(`${base}/portal-onboarding`);
    await page.getByLabel('Name', { exact: true }).fill('Journeyman');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await page.waitForURL(/q=Journeyman/);
    await expect(page.locator('#results tr.onboarding-row').count()).resolves.toBe(1);
    await step(page, '3-filtered', true);

    // Clicking the red block enables access (gray); the inline link sends the invite (orange).
    await page.getByRole('button', { name: 'Enable portal access for Juniper Journeyman — status: Not enabled' }).click();
    await page.locator(`#patient-${juniper} .status-gray`).waitFor();
    await step(page, '4-enabled');
    await page.getByRole('button', { name: 'Send Invite to juniper.journeyman@example.test' }).click();
    await page.locator(`#patient-${juniper} .status-orange`).waitFor();
    await step(page, '5-invited', true);

    // The real SMTP test server receives the email.
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(1);
    const mail = smtp.received.find((received) => received.to.includes('juniper.journeyman@example.test'))!;
    const link = await linkFrom(smtp, mail, PUBLIC_BASE_URL);

    // The patient, in a browser of their own, follows the link, sets a username and password and signs in.
    const patientContext = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const patientPage = await patientContext.newPage();
    const patientErrors = collectPageErrors(patientPage);
    await patientPage.goto(`${base}${link.path}`);
    await confirmDateOfBirthInBrowser(patientPage, '1991-07-14');
    await patientPage.getByRole('heading', { name: 'Set up your Patient Portal account' }).waitFor();
    const patientPassword = 'marigold ferry copper lantern';
    await patientPage.getByLabel('Username').fill('juniper.j');
    await patientPage.getByLabel('Password', { exact: true }).fill(patientPassword);
    await patientPage.getByLabel('Password again').fill(patientPassword);
    await step(patientPage, '6-patient-sets-password', true);
    await patientPage.getByRole('button', { name: 'Create my account' }).click();
    await patientPage.getByRole('heading', { name: 'Your account is ready' }).waitFor();
    await patientPage.getByRole('link', { name: 'Go to Patient Portal sign-in' }).click();
    await patientPage.getByLabel('Username').fill('juniper.j');
    await patientPage.getByLabel('Password').fill(patientPassword);
    await patientPage.getByRole('button', { name: 'Sign in' }).click();
    await patientPage.waitForURL(`${base}/portal`);
    await patientPage.getByRole('heading', { name: 'Welcome, Juniper' }).waitFor();
    await step(patientPage, '7-patient-signed-in', true);
    expect(patientErrors).toEqual([]);
    await patientContext.close();

    // Back as staff: the row is green (Active).
    await page.goto(`${base}/portal-onboarding?q=Journeyman`);
    await page.locator(`#patient-${juniper} .status-green`).waitFor();
    await expect(page.locator(`#patient-${juniper} .col-status`).textContent()).resolves.toContain('Active');
    await step(page, '8-active', true);
    expect((await portalAccountOf(t, juniper)).username).toBe('juniper.j');
    expect(errors).toEqual([]);
    await staffContext.close();
  });
});
