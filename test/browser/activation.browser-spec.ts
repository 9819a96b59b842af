import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  BrowserStack,
  collectPageErrors,
  README_SCREENSHOTS_DIR,
  screenshot,
  signInThroughForm,
  startBrowserStack,
} from '../support/browser';
import { confirmDateOfBirthInBrowser } from '../support/identity-check';
import { createPortalPatient, portalAccountOf } from '../support/portal-patients';
import { binaryBody, pdfPagesAsPng, readQrCodes } from '../support/qr';
import { addRepresentative } from '../support/representatives';
import { createStaffUser, signIn } from '../support/staff';
import request from 'supertest';
import { csrfTokenOf } from '../support/html';
import { MAX_FAILED_SIGN_INS } from '../../src/auth/lockout/attempt-lock';

const PUBLIC_BASE_URL = 'https://portal.clinic.test';
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/** The patient, on their own phone: DOB, username, password (and maybe an email), then sign-in and the welcome. */
async function setUpAndSignIn(phone: Page, base: string, who: { dateOfBirth: string; username: string; firstName: string }) {
  await confirmDateOfBirthInBrowser(phone, who.dateOfBirth);
  await phone.getByRole('heading', { name: 'Set up your Patient Portal account' }).waitFor();
  const password = 'quiet harbor violet compass';
  await phone.getByLabel('Username').fill(who.username);
  await phone.getByLabel('Password', { exact: true }).fill(password);
  await phone.getByLabel('Password again').fill(password);
  return {
    password,
    finish: async () => {
      await phone.getByRole('button', { name: 'Create my account' }).click();
      await phone.getByRole('heading', { name: 'Your account is ready' }).waitFor();
      await phone.getByRole('link', { name: 'Go to Patient Portal sign-in' }).click();
      await phone.getByLabel('Username').fill(who.username);
      await phone.getByLabel('Password').fill(password);
      await phone.getByRole('button', { name: 'Sign in' }).click();
      await phone.waitForURL(`${base}/portal`);
      await phone.getByRole('heading', { name: `Welcome, ${who.firstName}` }).waitFor();
    },
  };
}

describe('activation without an email, in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack({ PUBLIC_BASE_URL, CLINIC_NAME: 'Maple Street Clinic' });
  });
  afterAll(async () => stack?.close());

  it('in the clinic: staff show the code, the patient sets up on a second browser (the phone), and the staff page sees it finish', async () => {
    const { t, browser, base } = stack;
    const patient = await createPortalPatient(t, {
      firstName: 'Ignatius',
      lastName: 'Okonkwo',
      email: null,
      dateOfBirth: '1948-06-21',
    });
    const staff = await createStaffUser(t, 'staff', 'Fran Front-Desk');
    const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const staffPage = await desk.newPage();
    const staffErrors = collectPageErrors(staffPage);
    await signInThroughForm(staffPage, base, staff.email, staff.password, `/patients/${patient.id}?tab=portal`);
    await staffPage.getByLabel("I checked the patient's photo ID").check();
    await staffPage.getByRole('button', { name: 'Show activation code' }).click();
    await staffPage.getByRole('heading', { name: "Activate on the patient's phone" }).waitFor();
    await screenshot(staffPage, 'in-clinic-activation-code', { readme: true });
    const code = (await staffPage.getByTestId('activation-code').textContent())!.trim();
    expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
    // The phone's camera: the QR code as shown on the staff screen.
    const [link] = readQrCodes(await staffPage.getByRole('img', { name: /QR code/ }).screenshot());
    expect(link).toMatch(new RegExp(`^${PUBLIC_BASE_URL}/portal/activate/`));

    const phoneContext = await browser.newContext(PHONE);
    const phone = await phoneContext.newPage();
    const phoneErrors = collectPageErrors(phone);
    await phone.goto(`${base}${new URL(link).pathname}`);
    expect(phone.url()).toBe(`${base}/portal/activate`);
    const setUp = await setUpAndSignIn(phone, base, { dateOfBirth: '1948-06-21', username: 'ignatius.o', firstName: 'Ignatius' });
    await phone.getByLabel(/Email address/).fill('ignatius.o@example.test');
    await screenshot(phone, 'in-clinic-phone-set-up', { readme: true });
    await setUp.finish();

    // The staff page polled its way to "finished", without a reload.
    await staffPage.getByText('The patient has set up their account.').waitFor({ timeout: 15_000 });
    await screenshot(staffPage, 'in-clinic-activation-finished', { readme: true });
    expect((await portalAccountOf(t, patient.id)).firstLoginAt).not.toBeNull();
    expect(staffErrors).toEqual([]);
    expect(phoneErrors).toEqual([]);
    await desk.close();
    await phoneContext.close();
  });

  it('by letter: the QR code read off the printed PDF opens the set-up on the phone, which completes and signs in', async () => {
    const { t, browser, base } = stack;
    const patient = await createPortalPatient(t, {
      firstName: 'Henrietta',
      lastName: 'Lacks-Moore',
      email: null,
      dateOfBirth: '1952-08-01',
    });
    await t.dataSource.query(
      "UPDATE patients SET address_line1 = '742 Evergreen Terrace', address_line2 = 'Apt 2', address_city = 'Springfield', address_region = 'OR', address_postal_code = '97403', address_country = 'USA' WHERE id = ?",
      [patient.id],
    );
    const staff = await createStaffUser(t, 'staff', 'Lee Letters');
    const agent = await signIn(t, staff.email, staff.password);
    const res = await agent
      .post(`/patients/${patient.id}/portal/letter`)
      .type('form')
      .send({ _csrf: agent.csrf })
      .buffer(true)
      .parse(binaryBody)
      .expect(200);
    const [page] = pdfPagesAsPng(res.body as Buffer, 100);
    mkdirSync(README_SCREENSHOTS_DIR, { recursive: true });
    writeFileSync(join(README_SCREENSHOTS_DIR, 'activation-letter.png'), page);
    const [link] = readQrCodes(page);

    const phoneContext = await browser.newContext(PHONE);
    const phone = await phoneContext.newPage();
    const errors = collectPageErrors(phone);
    await phone.goto(`${base}${new URL(link).pathname}`);
    const setUp = await setUpAndSignIn(phone, base, {
      dateOfBirth: '1952-08-01',
      username: 'henrietta.lm',
      firstName: 'Henrietta',
    });
    await setUp.finish();
    expect((await portalAccountOf(t, patient.id)).username).toBe('henrietta.lm');
    expect(errors).toEqual([]);
    await phoneContext.close();
  });

  it('a representative at the desk: staff show a code on their row, the representative sets up their own account on their phone; later staff unlock their sign-in', async () => {
    const { t, browser, base } = stack;
    const patient = await createPortalPatient(t, {
      firstName: 'Pia',
      lastName: 'Sandoval',
      email: null,
      dateOfBirth: '2017-03-09',
    });
    const staff = await createStaffUser(t, 'staff', 'Rae Reception');
    const agent = await signIn(t, staff.email, staff.password);
    const rep = await addRepresentative(t, agent, patient.id, { fullName: 'Greta Sandoval' });
    const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const staffPage = await desk.newPage();
    const staffErrors = collectPageErrors(staffPage);
    await signInThroughForm(staffPage, base, staff.email, staff.password, `/patients/${patient.id}?tab=portal`);
    await staffPage.getByLabel('I checked Greta Sandoval’s photo ID').check();
    await staffPage.getByRole('button', { name: 'Show activation code for Greta Sandoval' }).click();
    await staffPage.getByRole('heading', { name: "Activate on Greta Sandoval's phone" }).waitFor();
    const code = (await staffPage.getByTestId('activation-code').textContent())!.trim();

    const phoneContext = await browser.newContext(PHONE);
    const phone = await phoneContext.newPage();
    const phoneErrors = collectPageErrors(phone);
    await phone.goto(`${base}/portal/activate`);
    await phone.getByLabel(/Activation code/).fill(code);
    await phone.getByRole('button', { name: /Continue/ }).click();
    await phone.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await phone.getByLabel(/date of birth/).fill('2017-03-09');
    await phone.getByLabel('Your last name').fill('Sandoval');
    await phone.getByRole('button', { name: 'Continue' }).click();
    await phone.getByRole('heading', { name: 'Set up your Patient Portal account' }).waitFor();
    expect(await phone.getByLabel(/Email address/).count()).toBe(0);
    const password = 'quiet harbor violet compass';
    await phone.getByLabel('Username').fill('greta.s');
    await phone.getByLabel('Password', { exact: true }).fill(password);
    await phone.getByLabel('Password again').fill(password);
    await phone.getByRole('button', { name: 'Create my account' }).click();
    await phone.getByRole('heading', { name: 'Your account is ready' }).waitFor();
    await staffPage.getByText('The representative has set up their account.').waitFor({ timeout: 15_000 });

    // Too many wrong passwords lock the representative's own account; staff unlock it from the row.
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) {
      const other = request.agent(t.server);
      const login = await other.get('/portal/login');
      await other
        .post('/portal/login')
        .type('form')
        .send({ _csrf: csrfTokenOf(login.text), username: 'greta.s', password: 'wrong wrong wrong wrong' });
    }
    await staffPage.goto(`${base}/patients/${patient.id}?tab=portal`);
    await staffPage.getByText('Sign-in locked until').waitFor();
    await staffPage.locator('#portal-links').scrollIntoViewIfNeeded();
    await screenshot(staffPage, 'representative-links-and-lock', { readme: true });
    await staffPage.getByRole('button', { name: 'Unlock Greta Sandoval’s sign-in' }).click();
    await staffPage.getByText('The representative’s portal sign-in is unlocked.').waitFor();
    expect(await staffPage.getByText('Sign-in locked until').count()).toBe(0);

    await phone.goto(`${base}/portal/login`);
    await phone.getByLabel('Username').fill('greta.s');
    await phone.getByLabel('Password').fill(password);
    await phone.getByRole('button', { name: 'Sign in' }).click();
    await phone.waitForURL(`${base}/portal`);
    await phone.getByText('Pia Sandoval').waitFor();
    const [account] = await t.dataSource.query('SELECT username FROM representative_accounts WHERE id = ?', [rep.accountId]);
    expect(account.username).toBe('greta.s');
    expect(staffErrors).toEqual([]);
    expect(phoneErrors).toEqual([]);
    await desk.close();
    await phoneContext.close();
  });
});
