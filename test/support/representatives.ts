import type request from 'supertest';
import type { TestApp } from './test-app';

/** The add-representative form as staff fill it in; override single fields. */
export function representativeForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    fullName: 'Dana Whitfield',
    relationship: 'parent_or_guardian',
    email: `dana.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@family.test`,
    phone: '555-0100',
    basis: 'Signed authorisation form 2026-11-30, scanned to chart',
    startsOn: '2020-01-01',
    confirm: 'yes',
    reason: 'Parent asked for portal access at the visit',
    ...overrides,
  };
}

/** Adds a representative through the tab (expects the redirect) and returns its row. */
export async function addRepresentative(
  t: TestApp,
  staff: request.Agent & { csrf: string },
  patientId: number,
  overrides: Record<string, string> = {},
): Promise<{ id: number; email: string; accountId: number; version: number }> {
  const form = representativeForm(overrides);
  const res = await staff
    .post(`/patients/${patientId}/representatives`)
    .type('form')
    .send({ _csrf: staff.csrf, ...form });
  if (res.status !== 303) throw new Error(`adding a representative answered ${res.status}: ${res.text.slice(0, 500)}`);
  const [row] = await t.dataSource.query(
    'SELECT id, account_id, version FROM patient_representatives WHERE patient_id = ? ORDER BY id DESC LIMIT 1',
    [patientId],
  );
  return { id: Number(row.id), email: form.email, accountId: Number(row.account_id), version: Number(row.version) };
}
