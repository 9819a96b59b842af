import { toSqlDateTime } from '../../src/database/sql';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { horizontalOverflow } from '../support/layout';
import { createPortalPatient } from '../support/portal-patients';
import { createStaffUser } from '../support/staff';

/** Issue 13, defect 7: at 400 px the patient dashboard fits the screen; only tables scroll sideways. */
describe('the patient dashboard on a narrow screen', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack();
  });
  afterAll(async () => stack?.close());

  it('fits 400 px on every tab and form (no sideways scroll outside tables), and 1280 px alike', async () => {
    const { t, browser, base } = stack;
    const now = toSqlDateTime(new Date());
    for (const name of ['Asthma', 'Diabetes', 'Hypertension', 'Medicare', 'Spanish speaking'])
      await t.dataSource.query('INSERT INTO tags (name, created_at) VALUES (?, ?)', [name, now]);
    await t.dataSource.query(
      "INSERT INTO providers (name, active, created_at) VALUES ('Dr. Bartholomew Featherstonehaugh-Wolfeschlegel', 1, ?)",
      [now],
    );
    const patient = await createPortalPatient(t, {
      firstName: 'Maximiliana-Josefina',
      lastName: 'Vandenberghe-Oosterhuis',
      email: 'maximiliana.josefina.vandenberghe-oosterhuis@a-very-long-domain.example.test',
      username: 'maximiliana.vandenberghe',
    });
    await t.dataSource.query(
      'UPDATE patients SET phone = ?, primary_provider_id = (SELECT MAX(id) FROM providers) WHERE id = ?',
      ['+1 555 010 0100', patient.id],
    );
    await t.dataSource.query('INSERT INTO patient_tags (patient_id, tag_id) SELECT ?, id FROM tags', [patient.id]);
    const staff = await createStaffUser(t, 'admin', 'Nadia Narrow');

    for (const width of [400, 1280]) {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      const page = await context.newPage();
      const errors = collectPageErrors(page);
      await signInThroughForm(page, base, staff.email, staff.password, `/patients/${patient.id}`);
      // An invite, so the links table and the activity list have rows.
      await page.getByRole('link', { name: 'Patient Portal' }).click();
      if (width === 400) {
        await page.getByRole('button', { name: /Send password reset to/ }).click();
        await page.getByText('A password-reset email is on its way').waitFor();
      }
      const views: Array<[string, string, () => Promise<void>]> = [
        ['details', `/patients/${patient.id}?tab=details`, async () => undefined],
        ['edit', `/patients/${patient.id}?tab=details&edit=details`, async () => undefined],
        [
          'portal',
          `/patients/${patient.id}?tab=portal`,
          async () => {
            for (const summary of await page.locator('details.card-form > summary').all()) await summary.click();
          },
        ],
      ];
      for (const [name, path, open] of views) {
        await page.goto(`${base}${path}`);
        await open();
        expect({ width, name, ...(await horizontalOverflow(page)) }).toEqual({ width, name, scroll: 0, culprits: [] });
        await screenshot(page, `dashboard-${name}-${width}`);
      }
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
