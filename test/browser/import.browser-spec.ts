import { join } from 'node:path';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { createStaffUser } from '../support/staff';

const FIXTURE = join(__dirname, '..', 'fixtures', 'import', 'patients.csv');

describe('the import page in a real browser', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack();
    await stack.t.dataSource.query(
      "INSERT INTO providers (name, active, created_at) VALUES ('Dr. Alice Morgan', 1, '2026-01-01 00:00:00'), ('Dr. Benjamin Ortiz', 1, '2026-01-01 00:00:00')",
    );
  });
  afterAll(async () => stack?.close());

  it('an admin uploads a CSV, sees the progress turn into the result, and the patients are on the onboarding page', async () => {
    const { browser, base, t } = stack;
    const admin = await createStaffUser(t, 'admin', 'Ada Admin');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);

    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));

    await page.goto(`${base}/admin/import`);
    await page.getByRole('heading', { name: 'Import patients' }).waitFor();
    // A dry run first: counts, nothing written.
    await page.getByLabel(/File \(CSV/).setInputFiles(FIXTURE);
    await page.getByLabel(/Dry run/).check();
    await page.getByRole('button', { name: 'Upload and import' }).click();
    await page.waitForURL(/\/admin\/import\/runs\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: /Dry run finished/ }).waitFor();
    const [{ n: afterDryRun }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM patients');
    expect(Number(afterDryRun)).toBe(0);

    await page.goto(`${base}/admin/import`);
    await page.getByLabel(/File \(CSV/).setInputFiles(FIXTURE);
    await page.getByRole('button', { name: 'Upload and import' }).click();
    await page.waitForURL(/\/admin\/import\/runs\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: 'Imported', exact: true }).waitFor();
    const counts = page.locator('table.import-counts tbody tr').first();
    await expect(counts.textContent()).resolves.toMatch(/Patients\s*6\s*0\s*0/);
    await screenshot(page, 'import-result');

    await page.goto(`${base}/portal-onboarding?q=O'Brien`);
    await page.getByRole('link', { name: "O'Brien, José" }).waitFor();
    await page.getByRole('link', { name: 'Download CSV' }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an EHR file marks a patient deceased: the result says what it did, the row says "Deceased" and offers nothing to click', async () => {
    const { browser, base, t } = stack;
    const admin = await createStaffUser(t, 'admin', 'Dee Admin');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await signInThroughForm(page, base, admin.email, admin.password, '/admin/import');

    const importFile = async (file: string, skipInvalid = false) => {
      await page.goto(`${base}/admin/import`);
      await page.getByLabel(/File \(CSV/).setInputFiles(file);
      if (skipInvalid) await page.getByLabel(/Import the valid rows/).check();
      await page.getByRole('button', { name: 'Upload and import' }).click();
      await page.waitForURL(/\/admin\/import\/runs\/[0-9a-f-]{36}$/);
      await page.locator('h2.import-status').filter({ hasNotText: 'Running' }).waitFor();
    };
    await importFile(join(__dirname, '..', 'fixtures', 'import', 'deceased.json'));
    await page.getByRole('heading', { name: 'Imported', exact: true }).waitFor();
    await expect(page.locator('.import-deceased').textContent()).resolves.toContain('2 patients were recorded as deceased');
    await screenshot(page, 'import-deceased-result');

    await page.goto(`${base}/portal-onboarding?q=Ashworth`);
    const row = page.locator('tr.onboarding-row', { hasText: 'Ashworth, Edith' });
    await row.getByRole('img', { name: /Status: Deceased/ }).waitFor();
    await expect(row.getByRole('button').count()).resolves.toBe(0);
    await screenshot(page, 'onboarding-deceased-1280');
    await page.setViewportSize({ width: 400, height: 900 });
    await screenshot(page, 'onboarding-deceased-400');

    // A stray quote is a bad row with its line, not "failed on our side".
    await page.setViewportSize({ width: 1280, height: 900 });
    await importFile(join(__dirname, '..', 'fixtures', 'import', 'all-rejected.csv'), true);
    await page.getByRole('heading', { name: 'Not imported: the file has bad rows' }).waitFor();
    await expect(page.locator('.import-message').textContent()).resolves.toContain('every row of the file was rejected');
    await importFile(join(__dirname, '..', 'fixtures', 'import', 'stray-quote.csv'));
    await expect(page.locator('table.import-problems').textContent()).resolves.toMatch(/line 3\s*a double quote inside cell 2/);
    await screenshot(page, 'import-stray-quote');
    expect(errors).toEqual([]);
    await context.close();
  });
});
