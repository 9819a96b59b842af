import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { createPortalPatient } from '../../support/portal-patients';
import { createStaffUser, signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { rowIds } from '../staff/onboarding-fixtures';

const DAY = 86_400_000;
const sqlTime = (ms: number) => new Date(Date.now() + ms).toISOString().slice(0, 19).replace('T', ' ');

describe('the onboarding worklist', () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let context: AuditContext;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    t = await startTestApp({ REMINDER_INTERVAL_SECONDS: '0' });
    staff = await signInAs(t);
    const user = await createStaffUser(t);
    context = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
    const invitations = t.app.get(InvitationsService);
    const make = async (key: string, options: { email?: string | null; invitedDaysAgo?: number; visitInDays?: number } = {}) => {
      const patient = await createPortalPatient(t, {
        firstName: key,
        lastName: 'Zzwork',
        ...(options.email !== undefined ? { email: options.email } : {}),
      });
      ids[key] = patient.id;
      if (options.invitedDaysAgo !== undefined) {
        await invitations.sendInvites([patient.id], context);
        await t.dataSource.query('UPDATE portal_tokens SET created_at = ? WHERE patient_id = ?', [
          sqlTime(-options.invitedDaysAgo * DAY),
          patient.id,
        ]);
      }
      if (options.visitInDays !== undefined)
        await t.dataSource.query('UPDATE patients SET next_appointment_at = ? WHERE id = ?', [
          sqlTime(options.visitInDays * DAY),
          patient.id,
        ]);
      return patient;
    };
    await make('Stale', { invitedDaysAgo: 8 });
    await make('Recent', { invitedDaysAgo: 3 });
    await make('Visiting', { visitInDays: 3 });
    const active = await make('Active', { invitedDaysAgo: 9, visitInDays: 3 });
    await t.dataSource.query(
      "UPDATE portal_accounts SET username = 'zz.active', username_key = 'zz.active', first_login_at = ? WHERE patient_id = ?",
      [sqlTime(-DAY), active.id],
    );
    const failed = await make('Failed', { invitedDaysAgo: 1 });
    await t.dataSource.query("UPDATE mail_outbox SET status = 'failed' WHERE patient_id = ?", [failed.id]);
    const bounced = await make('Bounced', { invitedDaysAgo: 1 });
    await t.dataSource.query('UPDATE portal_accounts SET bounced_email = ? WHERE patient_id = ?', [bounced.email, bounced.id]);
    await make('Noemail', { email: null, visitInDays: 2 });
    await make('Noemaillater', { email: null, visitInDays: 10 });
    // Turned 18: the guardian recorded while a minor was ended at the age of majority (issue 16's sweep, by hand).
    const adult = await make('Adult');
    const grown = await make('Grownup');
    await t.dataSource.query(
      "UPDATE portal_accounts SET username = 'zz.grownup', username_key = 'zz.grownup' WHERE patient_id = ?",
      [grown.id],
    );
    const now = sqlTime(0);
    await t.dataSource.query(
      "INSERT INTO representative_accounts (email_key, email, full_name, created_at, updated_at) VALUES ('zz.guardian@example.test', 'zz.guardian@example.test', 'Zz Guardian', ?, ?)",
      [now, now],
    );
    const [{ id: account }] = await t.dataSource.query(
      "SELECT id FROM representative_accounts WHERE email_key = 'zz.guardian@example.test'",
    );
    for (const patient of [adult, grown])
      await t.dataSource.query(
        `INSERT INTO patient_representatives (patient_id, account_id, full_name, relationship, email, email_key, basis, starts_on, reason, created_at, updated_at, ended_at, ended_reason)
         VALUES (?, ?, 'Zz Guardian', 'parent', 'zz.guardian@example.test', 'zz.guardian@example.test', 'Parent of a minor', '2020-01-01', 'Minor', ?, ?, ?, 'age_of_majority')`,
        [patient.id, account, now, now, now],
      );
  });
  afterAll(async () => t.close());

  const expected: Record<string, string[]> = {
    invited_7d: ['Stale'],
    visit_not_active: ['Visiting'],
    email_problem: ['Failed', 'Bounced'],
    no_email_visit: ['Noemail'],
  };
  const idsOf = (keys: string[]) => keys.map((key) => ids[key]).sort((a, b) => a - b);

  it('counts each saved view against hand-built data and lists the same patients here and on the onboarding page', async () => {
    const page = await staff.get('/portal-onboarding/worklist').expect(200);
    for (const [view, keys] of Object.entries(expected)) {
      const count = new RegExp(`<span class="worklist-count" data-count="${view}">(\\d+)</span>`).exec(page.text);
      expect({ view, count: Number(count?.[1]) }).toEqual({ view, count: keys.length });
      const here = await staff.get(`/portal-onboarding/worklist?view=${view}`).expect(200);
      expect({ view, ids: rowIds(here.text).sort((a, b) => a - b) }).toEqual({ view, ids: idsOf(keys) });
      const onboarding = await staff.get(`/portal-onboarding?worklist=${view}`).set('HX-Request', 'true').expect(200);
      expect({ view, ids: rowIds(onboarding.text).sort((a, b) => a - b) }).toEqual({ view, ids: idsOf(keys) });
      expect(here.text).toContain(`href="/portal-onboarding?worklist=${view}"`);
    }
    expect(page.text).toContain('Next step:');
  });

  it('has a "Turned 18" view: the onboarding filter turned18=yes, its count, rows and link', async () => {
    const page = await staff.get('/portal-onboarding/worklist').expect(200);
    expect(page.text).toMatch(/<span class="worklist-count" data-count="turned_18">1<\/span> Turned 18/);
    const here = await staff.get('/portal-onboarding/worklist?view=turned_18').expect(200);
    // Grownup chose a username already: nothing left to do there.
    expect(rowIds(here.text)).toEqual([ids.Adult]);
    expect(here.text).toContain('href="/portal-onboarding?turned18=yes"');
    expect(here.text).toContain('<input type="hidden" name="turned18" value="yes">');
    const onboarding = await staff.get('/portal-onboarding?turned18=yes').set('HX-Request', 'true').expect(200);
    expect(rowIds(onboarding.text)).toEqual([ids.Adult]);
  });

  it('bulk-resends a whole view through the usual preview, and refuses an unknown view', async () => {
    const preview = await staff
      .post('/portal-onboarding/bulk/invite/preview')
      .redirects(1)
      .type('form')
      .send({ _csrf: staff.csrf, scope: 'filter', worklist: 'email_problem' })
      .expect(200);
    // The failed one is resent (and flagged as such, issue 16's preview count); the bounced address is skipped until it changes.
    expect(preview.text).toMatch(
      /1 invite will be sent; 1 of them: the last email failed or bounced \(check the address\); 1 skipped: email address bounced/,
    );
    await staff.get('/portal-onboarding/worklist?view=nope').expect(400);
  });
});
