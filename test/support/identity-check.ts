import type { Page } from 'playwright-core';
import type request from 'supertest';
import { csrfTokenOf } from './html';
import { DEFAULT_BIRTH_DATE } from './portal-patients';

type LinkPurpose = 'invite' | 'reset';

/**
 * Answers the identity-check step of an opened link (the session already holds it) with the
 * patient's date of birth; afterwards GET /portal/<purpose> shows the password form.
 */
export async function answerIdentityCheck(
  agent: request.Agent,
  purpose: LinkPurpose,
  dateOfBirth: string = DEFAULT_BIRTH_DATE,
): Promise<void> {
  const step = await agent.get(`/portal/${purpose}`).expect(200);
  if (!step.text.includes('name="dateOfBirth"')) throw new Error(`expected the identity check at /portal/${purpose}`);
  await agent
    .post(`/portal/${purpose}/identity`)
    .type('form')
    .send({ _csrf: csrfTokenOf(step.text), dateOfBirth })
    .expect(303)
    .expect('Location', `/portal/${purpose}`);
}

/** Opens an emailed link, answers the identity check and returns the password form. */
export async function openPasswordForm(
  agent: request.Agent,
  path: string,
  dateOfBirth: string = DEFAULT_BIRTH_DATE,
): Promise<{ location: string; csrf: string; html: string }> {
  const opened = await agent.get(path).expect(303);
  const location = opened.headers.location as string;
  await answerIdentityCheck(agent, location.endsWith('/reset') ? 'reset' : 'invite', dateOfBirth);
  const form = await agent.get(location).expect(200);
  return { location, csrf: csrfTokenOf(form.text), html: form.text };
}

/** The same step in a real browser: the page asks the date of birth before the password form. */
export async function confirmDateOfBirthInBrowser(page: Page, dateOfBirth: string = DEFAULT_BIRTH_DATE): Promise<void> {
  await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
  await page.getByLabel(/date of birth/).fill(dateOfBirth);
  await page.getByRole('button', { name: 'Continue' }).click();
}
