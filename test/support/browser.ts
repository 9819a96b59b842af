import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { startSmtpServer, TestSmtpServer } from './smtp-server';
import { startTestApp, TestApp } from './test-app';

export const ARTIFACTS_DIR = join(__dirname, '..', '..', 'test-artifacts');

/** Debian's Chromium, headless, with nothing reaching out to the network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export const README_SCREENSHOTS_DIR = join(__dirname, '..', '..', 'docs', 'screenshots');

/**
 * Saves a full-page screenshot under test-artifacts/ (CI keeps the folder as artifacts);
 * `readme` also refreshes docs/screenshots/<name>.png, the copy the README shows.
 */
export async function screenshot(page: Page, name: string, options: { readme?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  // caret 'initial': Playwright otherwise injects an inline style that the CSP (rightly) blocks.
  await page.screenshot({ path, fullPage: true, caret: 'initial' });
  if (options.readme) {
    mkdirSync(README_SCREENSHOTS_DIR, { recursive: true });
    copyFileSync(path, join(README_SCREENSHOTS_DIR, `${name}.png`));
  }
  return path;
}

/** Fails the test on any script error or CSP violation the page reports. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

/** The app on a fresh database with a real SMTP server and a browser, as most browser tests need them. */
export interface BrowserStack {
  t: TestApp;
  smtp: TestSmtpServer;
  browser: Browser;
  /** http://127.0.0.1:<port> of the app. */
  base: string;
  close(): Promise<void>;
}

export async function startBrowserStack(env: Record<string, string> = {}): Promise<BrowserStack> {
  const smtp = await startSmtpServer();
  const t = await startTestApp({ SMTP_URL: smtp.url, ...env });
  const browser = await launchBrowser();
  return {
    t,
    smtp,
    browser,
    base: `http://127.0.0.1:${(t.server.address() as { port: number }).port}`,
    close: async () => {
      await browser.close();
      await t.close();
      await smtp.close();
    },
  };
}

/** Signs a staff member in through the real form and waits for the page behind it. */
export async function signInThroughForm(
  page: Page,
  base: string,
  email: string,
  password: string,
  path = '/portal-onboarding',
): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}${path}`);
}

/** Signs a patient or representative in through the portal's form (where it lands is the test's to check). */
export async function signInToPortal(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/portal/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The WCAG 2.0, 2.1 and 2.2 level A and AA rules of axe-core: what every page a person sees must pass. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (from npm) in the page and returns each violation as "rule: selector — summary".
 * Injected through the DevTools protocol (page.evaluate), which the page's CSP does not block;
 * the page itself still loads no script but its own.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(AXE_SOURCE);
  const results = (await page.evaluate(
    `window.axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_TAGS)} }, resultTypes: ['violations'] })`,
  )) as { violations: Array<{ id: string; nodes: Array<{ target: string[]; failureSummary?: string }> }> };
  return results.violations.flatMap((violation) =>
    violation.nodes.map(
      (node) => `${violation.id}: ${node.target.join(' ')} — ${(node.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 200)}`,
    ),
  );
}

/** Fails with the page's name and every WCAG A/AA violation axe-core finds on it. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  expect({ page: name, violations: await axeViolations(page) }).toEqual({ page: name, violations: [] });
}
