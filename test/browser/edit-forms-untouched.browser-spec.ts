import type { Page } from 'playwright-core';
import { RemindersService } from '../../src/activation/reminders.service';
import { SYSTEM_CONTEXT } from '../../src/audit/audit-context';
import { toSqlDateTime } from '../../src/database/sql';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { createPortalPatient } from '../support/portal-patients';
import { createStaffUser } from '../support/staff';

/**
 * Every form that edits something already on file, saved as the browser serialises it
 * without touching a field: nothing on file may change (issue 13, defect 1: Edit details
 * used to tick every tag). And when one field is changed, the audit names that field only.
 */
describe('edit forms saved without touching a field', () => {
  let stack: BrowserStack;
  let page: Page;
  let errors: string[];
  let tagIds: number[];
  let providerIds: number[];
  let withEverything: number;
  let withNothing: number;
  let admin: { id: number; email: string; password: string };
  let colleague: { id: number; email: string };

  beforeAll(async () => {
    stack = await startBrowserStack();
    const { t, browser, base } = stack;
    const now = toSqlDateTime(new Date());
    for (const name of ['Asthma', 'Diabetes', 'Hypertension', 'Medicare', 'Medicaid', 'Pediatrics', 'Spanish speaking', 'VIP']) {
      await t.dataSource.query('INSERT INTO tags (name, created_at) VALUES (?, ?)', [name, now]);
    }
    for (const name of ['Dr. Alice Morgan', 'Dr. Benjamin Ortiz'])
      await t.dataSource.query('INSERT INTO providers (name, active, created_at) VALUES (?, 1, ?)', [name, now]);
    tagIds = (await t.dataSource.query('SELECT id FROM tags ORDER BY id')).map((row: { id: number }) => Number(row.id));
    providerIds = (await t.dataSource.query('SELECT id FROM providers ORDER BY id')).map((row: { id: number }) => Number(row.id));

    // One tag of eight ("Medicare"), the second provider, a phone in a format an import may store
    // but the form would not accept as typed, and a portal username.
    withEverything = (
      await createPortalPatient(t, {
        firstName: 'Zoë',
        lastName: "O'Hara",
        dateOfBirth: '1961-02-28',
        email: 'zoe.ohara@example.test',
        username: 'zoe.ohara',
      })
    ).id;
    // A postal address with the double spaces an import may keep, every part filled.
    await t.dataSource.query(
      'UPDATE patients SET phone = ?, primary_provider_id = ?, address_line1 = ?, address_line2 = ?, address_city = ?, address_region = ?, address_postal_code = ?, address_country = ? WHERE id = ?',
      ['+1 555 0100 ext. 7', providerIds[1], '12  Elm Street', 'Apt 4', 'Springfield', 'IL', '62704', 'USA', withEverything],
    );
    await t.dataSource.query('INSERT INTO patient_tags (patient_id, tag_id) VALUES (?, ?)', [withEverything, tagIds[3]]);
    // No tags, no provider, no phone, no email, no username.
    withNothing = (await createPortalPatient(t, { firstName: 'Bo', lastName: 'Bare', email: null, accessEnabled: false })).id;

    admin = await createStaffUser(t, 'admin', 'Ada Admin');
    colleague = await createStaffUser(t, 'staff', 'Sam Staff');

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    errors = collectPageErrors(page);
    await signInThroughForm(page, base, admin.email, admin.password);
    // Added after sign-in: with a passkey the sign-in would ask for it as a second step.
    await t.dataSource.query(
      "INSERT INTO staff_passkeys (staff_user_id, credential_id, public_key, counter, name, created_at) VALUES (?, 'cred-1', 'key', 0, 'Work laptop', ?)",
      [admin.id, now],
    );
  });
  afterAll(async () => stack?.close());

  const patientOnFile = async (id: number) => {
    const [row] = await stack.t.dataSource.query(
      'SELECT p.first_name, p.last_name, p.date_of_birth, p.email, p.phone, p.primary_provider_id, p.address_line1, p.address_line2, p.address_city, p.address_region, p.address_postal_code, p.address_country, pa.username FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.id = ?',
      [id],
    );
    const tags = (
      await stack.t.dataSource.query('SELECT tag_id FROM patient_tags WHERE patient_id = ? ORDER BY tag_id', [id])
    ).map((r: { tag_id: number }) => Number(r.tag_id));
    return {
      ...row,
      date_of_birth: String(row.date_of_birth).slice(0, 10),
      primary_provider_id: row.primary_provider_id === null ? null : Number(row.primary_provider_id),
      tags,
    };
  };
  const auditCount = async (action: string) =>
    Number((await stack.t.dataSource.query('SELECT COUNT(*) AS n FROM audit_events WHERE action = ?', [action]))[0].n);
  const outboxCount = async () => Number((await stack.t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox'))[0].n);

  it('Edit details: saving untouched keeps every field, tags included, and writes no audit row', async () => {
    for (const id of [withEverything, withNothing]) {
      const before = await patientOnFile(id);
      await page.goto(`${stack.base}/patients/${id}?tab=details&edit=details`);
      if (id === withEverything) {
        expect(await page.getByRole('checkbox', { name: 'Medicare' }).isChecked()).toBe(true);
        expect(await page.locator('input[name="tagIds"]:checked').count()).toBe(1);
        await screenshot(page, 'edit-details-form-1280');
      } else {
        expect(await page.locator('input[name="tagIds"]:checked').count()).toBe(0);
      }
      await page.getByRole('button', { name: 'Save details' }).click();
      await page.getByText('Nothing needed changing.').waitFor();
      expect(await patientOnFile(id)).toEqual(before);
    }
    expect(await auditCount('patient.details_changed')).toBe(0);
  });

  it('Edit details: changing only the first name changes only it, and the audit says "changed: firstName"', async () => {
    const before = await patientOnFile(withEverything);
    await page.goto(`${stack.base}/patients/${withEverything}?tab=details&edit=details`);
    await page.getByLabel('First name').fill('Zoe');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.getByText('The patient’s details were saved.').waitFor();
    expect(await patientOnFile(withEverything)).toEqual({ ...before, first_name: 'Zoe' });
    const [event] = await stack.t.dataSource.query(
      "SELECT details FROM audit_events WHERE action = 'patient.details_changed' ORDER BY id DESC LIMIT 1",
    );
    expect(JSON.parse(event.details).changed).toEqual(['firstName']);
  });

  it('Edit details: the phone is edited, normalised and audited as "changed: phone"; a bad one is refused with the form kept', async () => {
    const before = await patientOnFile(withEverything);
    await page.goto(`${stack.base}/patients/${withEverything}?tab=details&edit=details`);
    await page.getByLabel('Phone').fill('call me');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.getByText('Enter a phone number of 7 to 15 digits').waitFor();
    // The refused form keeps what was on it: still exactly one tag ticked.
    expect(await page.locator('input[name="tagIds"]:checked').count()).toBe(1);
    expect(await patientOnFile(withEverything)).toEqual(before);
    await page.getByLabel('Phone').fill('  (555)  010.0199 ');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.getByText('The patient’s details were saved.').waitFor();
    expect(await patientOnFile(withEverything)).toEqual({ ...before, phone: '(555) 010 0199' });
    await page.getByText('(555) 010 0199').waitFor();
    const [event] = await stack.t.dataSource.query(
      "SELECT details FROM audit_events WHERE action = 'patient.details_changed' ORDER BY id DESC LIMIT 1",
    );
    expect(JSON.parse(event.details).changed).toEqual(['phone']);
    // Errors above were the refused form's 400, on purpose.
    errors.length = 0;
  });

  it('Edit details: changing only the postal code changes only it, and the audit says "changed: addressPostalCode"', async () => {
    const before = await patientOnFile(withEverything);
    await page.goto(`${stack.base}/patients/${withEverything}?tab=details&edit=details`);
    expect(await page.getByLabel('Address line 1').inputValue()).toBe('12  Elm Street');
    await page.getByLabel('Postal code').fill('62705');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.getByText('The patient’s details were saved.').waitFor();
    expect(await patientOnFile(withEverything)).toEqual({ ...before, address_postal_code: '62705' });
    const [event] = await stack.t.dataSource.query(
      "SELECT details FROM audit_events WHERE action = 'patient.details_changed' ORDER BY id DESC LIMIT 1",
    );
    expect(JSON.parse(event.details).changed).toEqual(['addressPostalCode']);
  });

  it('Change the username: saving untouched keeps it, tells nobody and audits nothing', async () => {
    const before = await patientOnFile(withEverything);
    const mails = await outboxCount();
    await page.goto(`${stack.base}/patients/${withEverything}?tab=portal`);
    await page.getByText('Change the username').click();
    expect(await page.getByLabel('New username').inputValue()).toBe('zoe.ohara');
    await page.getByRole('button', { name: 'Change username' }).click();
    await page.getByText('Nothing needed changing.').waitFor();
    expect(await patientOnFile(withEverything)).toEqual(before);
    expect(await outboxCount()).toBe(mails);
    expect(await auditCount('portal.username_changed')).toBe(0);
  });

  it('Change the email address: sent with the address box untouched, it is refused and the email on file stays', async () => {
    const before = await patientOnFile(withEverything);
    await page.goto(`${stack.base}/patients/${withEverything}?tab=portal`);
    await page.getByText('Change the email address').click();
    await page.getByLabel('I verified this change with the patient or their authorised representative').check();
    await page.getByLabel('Reason (for the audit trail)').filter({ visible: true }).first().fill('Checking the form');
    await page.getByLabel('Your password (to confirm it is you)').fill(admin.password);
    await page.getByRole('button', { name: 'Request the email change' }).click();
    await page.getByText('Enter a valid email address.').waitFor();
    expect(await patientOnFile(withEverything)).toEqual(before);
    expect(await auditCount('patient.email_changed')).toBe(0);
    expect(await auditCount('patient.email_change_requested')).toBe(0);
    errors.length = 0;
  });

  it('Staff users → Change role: saving untouched keeps the role and audits nothing', async () => {
    await page.goto(`${stack.base}/admin/users`);
    await page
      .getByRole('row', { name: /Sam Staff/ })
      .getByRole('button', { name: 'Change role' })
      .click();
    await page.waitForURL(`${stack.base}/admin/users`);
    const [row] = await stack.t.dataSource.query('SELECT role FROM staff_users WHERE id = ?', [colleague.id]);
    expect(row.role).toBe('staff');
    expect(await auditCount('admin.staff_role_changed')).toBe(0);
  });

  it('Admin → Reminders: saving the policy untouched keeps every value (days, limits, hours, off/on)', async () => {
    const reminders = stack.t.app.get(RemindersService);
    // A policy unlike the defaults, so a box that fell back to its default would show.
    const problem = await reminders.savePolicy(
      {
        enabled: false,
        daysAfterInvite: '2, 9, 30',
        daysBeforeAppointment: 5,
        maxPerPatient: 4,
        allowedFromHour: 7,
        allowedUntilHour: 19,
      },
      SYSTEM_CONTEXT,
    );
    expect(problem).toBeNull();
    const onFile = async () => {
      const { updatedAt: _updatedAt, ...policy } = await reminders.policy();
      return policy;
    };
    const before = await onFile();
    await page.goto(`${stack.base}/admin/reminders`);
    await page.getByRole('button', { name: 'Save the reminder policy' }).click();
    await page.waitForURL(`${stack.base}/admin/reminders`);
    await page.getByText('Reminders are off: no reminder emails are sent.').waitFor();
    expect(await onFile()).toEqual(before);
  });

  it('Sign-in security → Rename a passkey: saving untouched keeps the name and audits nothing', async () => {
    await page.goto(`${stack.base}/account/security`);
    expect(await page.getByLabel('Name of passkey Work laptop').inputValue()).toBe('Work laptop');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.waitForURL(`${stack.base}/account/security`);
    const [row] = await stack.t.dataSource.query('SELECT name FROM staff_passkeys WHERE staff_user_id = ?', [admin.id]);
    expect(row.name).toBe('Work laptop');
    expect(await auditCount('staff.passkey_renamed')).toBe(0);
    expect(errors).toEqual([]);
  });
});
