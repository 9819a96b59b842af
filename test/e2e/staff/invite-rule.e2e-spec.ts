import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { createPortalPatient, type TestPatientOptions } from '../../support/portal-patients';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

/**
 * "May this patient be invited, and with which email" is one rule (portal-eligibility.ts):
 * the onboarding row, the dashboard tab, the bulk preview and the send must all agree.
 */
describe('the invite rule, everywhere it shows', () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    t = await startTestApp();
    staff = await signInAs(t);
  });
  afterAll(async () => t.close());

  const cases: Array<{ name: string; options: TestPatientOptions; deceased?: boolean; expected: 'invite' | 'reset' | null }> = [
    { name: 'enabled, email, no username', options: {}, expected: 'invite' },
    { name: 'enabled, email, username chosen', options: { username: 'robin.rule' }, expected: 'reset' },
    { name: 'access not enabled', options: { accessEnabled: false }, expected: null },
    { name: 'no email', options: { email: null }, expected: null },
    { name: 'whitespace-only email', options: { email: '   ' }, expected: null },
    { name: 'deceased', options: {}, deceased: true, expected: null },
  ];

  it.each(cases)('$name: row, tab, preview and send agree', async ({ options, deceased, expected }) => {
    const patient = await createPortalPatient(t, options);
    if (deceased) await t.dataSource.query('UPDATE patients SET deceased = ? WHERE id = ?', [true, patient.id]);

    const row = await staff.get(`/portal-onboarding/patients/${patient.id}/row`).expect(200);
    const rowOffers = /Send password reset to/.test(row.text) ? 'reset' : /Send Invite to/.test(row.text) ? 'invite' : null;
    const tab = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    const tabOffers = /Send password reset to/.test(tab.text) ? 'reset' : /Send Invite to/.test(tab.text) ? 'invite' : null;
    const preview = await t.app.get(InvitationsService).previewInvites([patient.id]);
    const previewPlans = preview.resets ? 'reset' : preview.invites ? 'invite' : null;
    const send = await staff.post(`/patients/${patient.id}/portal/invite`).type('form').send({ _csrf: staff.csrf });
    const sent = send.status === 303 ? (String(send.headers.location).endsWith('saved=reset') ? 'reset' : 'invite') : null;

    expect({ rowOffers, tabOffers, previewPlans, sent }).toEqual({
      rowOffers: expected,
      tabOffers: expected,
      previewPlans: expected,
      sent: expected,
    });
    if (!expected) expect(send.status).toBe(409);
  });
});
