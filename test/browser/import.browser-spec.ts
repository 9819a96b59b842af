import { join } from 'node:path';
import { BrowserStack, collectPageErrors, screenshot, startBrowserStack } from '../support/browser';
import { createStaffUser } from '../support/staff';

const FIXTURE = join(__dirname, '..', 'fixtures', 'import', 'patients.csv');

describe('the import page in a real browser', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack();
    await stack.t.dataSource.query("INSERT INTO providers (name, active, created_at) VALUES ('Dr. Alice Morgan', 1, '2026-01-01 00:00:00'), ('Dr. Benjamin Ortiz', 1, '2026-01-01 00:00:00')");
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
});
