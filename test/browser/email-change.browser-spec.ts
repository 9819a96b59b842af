import type { Page } from 'playwright-core';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { createPortalPatient } from '../support/portal-patients';
import { createStaffUser } from '../support/staff';

const PUBLIC_BASE_URL = 'https://portal.clinic.test';

describe('an email change in a real browser: requested by one staff member, approved by another, confirmed by the patient', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack({ PUBLIC_BASE_URL });
  });
  afterAll(async () => stack?.close());

  async function linkTo(address: string, kind: 'confirm' | 'report'): Promise<string> {
    await stack.t.app.get(MailSenderService).drainOnce();
    for (let i = 0; i < 100; i++) {
      for (const mail of stack.smtp.received.filter((m) => m.to.includes(address)).reverse()) {
        const match = new RegExp(`${PUBLIC_BASE_URL.replace(/\./g, '\\.')}(/portal/email-change/${kind}/[A-Za-z0-9_-]{43})`).exec(
          (await stack.smtp.parse(mail)).text ?? '',
        );
        if (match) return match[1];
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no ${kind} link to ${address}`);
  }

  async function staffPage(email: string, password: string, path: string): Promise<Page> {
    const context = await stack.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signInThroughForm(page, stack.base, email, password, path);
    return page;
  }

  it('works with clicks alone, shows the queue on the tab and in Admin, and changes the address only after the patient confirms', async () => {
    const { t, base } = stack;
    const requester = await createStaffUser(t, 'staff', 'Riley Requester');
    const approver = await createStaffUser(t, 'admin', 'Avery Approver');
    const patient = await createPortalPatient(t, { firstName: 'Noor', lastName: 'Haddad' });
    const newEmail = `noor.haddad.new@example.test`;

    // The admin turns the approval policy on.
    const admin = await staffPage(approver.email, approver.password, '/admin/email-changes');
    const adminErrors = collectPageErrors(admin);
    await admin.getByRole('button', { name: 'Require a second staff member’s approval' }).click();
    await admin.getByText('Email changes now need a second staff member’s approval.').waitFor();
    // Post/redirect/get: the browser is on the queue's GET page, so a reload shows no message and posts nothing.
    expect(new URL(admin.url()).pathname).toBe('/admin/email-changes');
    await admin.reload();
    await admin.getByTestId('email-change-policy').getByText('On:').waitFor();
    expect(await admin.getByText('Email changes now need a second staff member’s approval.').count()).toBe(0);

    // The requester asks for the change on the Patient Portal tab.
    const staff = await staffPage(requester.email, requester.password, `/patients/${patient.id}?tab=portal`);
    const staffErrors = collectPageErrors(staff);
    await staff.getByText('Change the email address').click();
    await staff.getByLabel('New email address').fill(newEmail);
    await staff.getByLabel('I verified this change with the patient or their authorised representative').check();
    await staff
      .getByLabel('Reason (for the audit trail)')
      .filter({ visible: true })
      .first()
      .fill('Patient called from the number on file');
    await staff.getByLabel('Your password (to confirm it is you)').fill(requester.password);
    await staff.getByRole('button', { name: 'Request the email change' }).click();
    await staff.getByText('The change is waiting for a second staff member’s approval.').waitFor();
    await staff.getByText('You requested this: another staff member decides.').waitFor();
    expect(await staff.getByText(`No email on file`).count()).toBe(0);
    await screenshot(staff, 'email-change-requested');
    await staff.setViewportSize({ width: 400, height: 900 });
    await screenshot(staff, 'email-change-requested-narrow');

    // Another staff member approves it from Admin → Email changes.
    await admin.goto(`${base}/admin/email-changes`);
    await admin.getByRole('button', { name: `Approve change to ${newEmail}` }).click();
    await admin.getByText('Approved: a confirmation link was sent to the new address.').waitFor();
    await screenshot(admin, 'email-change-admin-queue');

    // Still the old address on file until the patient confirms from the new one.
    const [{ email: before }] = await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [patient.id]);
    expect(before).toBe(patient.email);
    const patientContext = await stack.browser.newContext({ viewport: { width: 400, height: 800 } });
    const patientPage = await patientContext.newPage();
    const patientErrors = collectPageErrors(patientPage);
    await patientPage.goto(`${base}${await linkTo(newEmail, 'confirm')}`);
    expect(patientPage.url()).toBe(`${base}/portal/email-change/confirm`);
    await screenshot(patientPage, 'email-change-confirm');
    await patientPage.getByRole('button', { name: 'Confirm this address' }).click();
    await patientPage.getByRole('heading', { name: 'Your email address is confirmed' }).waitFor();

    await staff.setViewportSize({ width: 1280, height: 900 });
    await staff.goto(`${base}/patients/${patient.id}?tab=portal`);
    await staff.getByText(newEmail).first().waitFor();
    await staff.getByText('No email change is waiting.').waitFor();
    expect([...adminErrors, ...staffErrors, ...patientErrors]).toEqual([]);
    await patientContext.close();
  });
});
