import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { horizontalOverflow } from '../support/layout';
import { createPortalPatient } from '../support/portal-patients';
import { createStaffUser } from '../support/staff';

/**
 * Issue 13: the audit trail keeps the Admin and user menus (Sign out works from it), its
 * patient filter takes a name or MRN, and a patient's Portal tab tells the activity in words.
 */
describe('an admin reading the audit trail and a patient’s activity in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack();
  });
  afterAll(async () => stack?.close());

  it('filters the trail by typing a name or MRN, with the menus in place, then signs out from the audit page', async () => {
    const { t, browser, base } = stack;
    const admin = await createStaffUser(t, 'admin', 'Audra Auditor');
    const patient = await createPortalPatient(t, {
      firstName: 'Hildegard',
      lastName: 'Quinlan-Moss',
      accessEnabled: false,
      email: 'hildegard@example.test',
    });
    await t.dataSource.query("UPDATE patients SET external_id = 'MRN-77001' WHERE id = ?", [patient.id]);
    const other = await createPortalPatient(t, { firstName: 'Otto', lastName: 'Other', accessEnabled: false });

    for (const width of [1280, 400]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      const errors = collectPageErrors(page);
      await signInThroughForm(page, base, admin.email, admin.password, `/patients/${patient.id}?tab=portal`);
      if (width === 1280) {
        // Something to read: enable, invite, open the record a few times; another patient too.
        await page.getByRole('button', { name: 'Enable portal access' }).click();
        await page.getByText('Portal access is enabled.').waitFor();
        await page.getByRole('button', { name: 'Send Invite to hildegard@example.test' }).click();
        await page.getByText('An invite email is on its way').waitFor();
        await page.goto(`${base}/patients/${other.id}?tab=portal`);
        await page.getByRole('button', { name: 'Enable portal access' }).click();
        await page.getByText('Portal access is enabled.').waitFor();
      }
      await page.goto(`${base}/patients/${patient.id}?tab=portal`);
      const activity = page.getByRole('list', { name: 'Portal activity, newest first' });
      await activity.getByText('Invite sent to the email on file by Audra Auditor.').waitFor();
      await activity.getByText('Portal access enabled by Audra Auditor.').waitFor();
      expect(await page.getByTestId('record-views').textContent()).toMatch(
        /^Record viewed \d+ times by staff, last by Audra Auditor/,
      );
      await page.getByRole('heading', { name: 'Portal activity for this patient' }).scrollIntoViewIfNeeded();
      expect({ width, ...(await horizontalOverflow(page)) }).toEqual({ width, scroll: 0, culprits: [] });
      await screenshot(page, `patient-activity-${width}`, { readme: width === 1280 });

      await page.goto(`${base}/admin/audit`);
      // The menus are there (the page used to lose them).
      await page.getByRole('button', { name: 'Admin' }).waitFor();
      await page.getByRole('button', { name: 'Audra Auditor' }).waitFor();
      await page.getByLabel('Patient (name or MRN)').fill(width === 1280 ? 'Quinlan' : 'mrn-77001');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByText('Events of Quinlan-Moss, Hildegard (MRN MRN-77001).').waitFor();
      expect(page.url()).toContain('patient=');
      const linked = await page
        .locator('#audit-results tbody a[href^="/patients/"]')
        .evaluateAll((links) => [...new Set(links.map((a) => a.getAttribute('href')))]);
      expect(linked).toEqual([`/patients/${patient.id}`]);
      expect({ width, ...(await horizontalOverflow(page)) }).toEqual({ width, scroll: 0, culprits: [] });
      await screenshot(page, `audit-trail-by-patient-${width}`, { readme: width === 1280 });

      // Sign out from the audit page's own menu.
      await page.getByRole('button', { name: 'Audra Auditor' }).hover();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/login/);
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
