import { ClinicClock } from '../../../src/common/time/clinic-time';
import { RepresentativesService } from '../../../src/portal-access/representatives/representatives.service';
import { createPortalPatient } from '../../support/portal-patients';
import { addRepresentative } from '../../support/representatives';
import { auditActions } from '../../support/sessions';
import { createStaffUser, signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

/** The clinic day `years` years and `days` days before `today` (YYYY-MM-DD). */
function birthDay(today: string, years: number, days = 0): string {
  const [y, m, d] = today.split('-').map(Number);
  const date = new Date(Date.UTC(y - years, m - 1, d + days));
  return date.toISOString().slice(0, 10);
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T12:00:00Z`) + 86_400_000);

describe('minors and shared email addresses', () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let today: string;

  beforeAll(async () => {
    t = await startTestApp();
    staff = await signInAs(t);
    today = t.app.get(ClinicClock).dayOf(new Date());
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (path: string, form: Record<string, string> = {}) =>
    staff
      .post(path)
      .type('form')
      .send({ _csrf: staff.csrf, ...form });
  const htmxPost = (url: string, body: string) =>
    staff.post(url).set('HX-Request', 'true').set('X-CSRF-Token', staff.csrf).type('form').send(body);
  const rowOf = async (q: string, id: number, extra = '') => {
    const page = await staff.get(`/portal-onboarding?q=${encodeURIComponent(q)}${extra}`).expect(200);
    return /<tr id="patient-(\d+)"[\s\S]*?<\/tr>/g.exec(page.text.slice(page.text.indexOf(`<tr id="patient-${id}"`)))?.[0] ?? '';
  };
  const outboxTo = async (address: string) =>
    Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE LOWER(TRIM(to_address)) = ?', [address]))[0].n);

  describe('under the self-access age (13)', () => {
    it('a 10-year-old gets no invite of their own: the row, the single invite and the bulk preview say so; the tab offers a guardian', async () => {
      const child = await createPortalPatient(t, { lastName: 'Tenyearold', dateOfBirth: birthDay(today, 10) });
      const row = await rowOf('Tenyearold', child.id);
      expect(row).toContain('Age 10: guardian access only');
      expect(row).toContain('Under 13: no portal account of their own');
      expect(row).not.toContain('Send Invite to');
      const single = await htmxPost(`/portal-onboarding/patients/${child.id}/invite`, '');
      expect(single.status).toBe(409);
      expect(single.text).toContain('Under 13: no portal account of their own');
      const fromTab = await post(`/patients/${child.id}/portal/invite`);
      expect(fromTab.status).toBe(409);
      expect(fromTab.text).toContain('under the self-access age');
      const preview = await htmxPost('/portal-onboarding/bulk/invite/preview', `scope=ids&ids=${child.id}`).expect(200);
      expect(preview.text).toContain('0 invites will be sent; 1 skipped: under the self-access age');
      expect(
        Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ?', [child.id]))[0].n),
      ).toBe(0);

      const tab = await staff.get(`/patients/${child.id}?tab=portal`).expect(200);
      expect(tab.text).toMatch(/<details class="card-form" open>\s*<summary>Add an authorised representative<\/summary>/);
      expect(tab.text).toMatch(/<option value="parent_or_guardian" selected>/);
      // With a guardian recorded, the guardian can be invited while the child still cannot.
      const guardian = await addRepresentative(t, staff, child.id, { fullName: 'Rae Tenyearold' });
      await post(`/patients/${child.id}/representatives/${guardian.id}/invite`).expect(303);
      expect(await outboxTo(guardian.email)).toBe(1);
      expect((await staff.get(`/patients/${child.id}?tab=portal`).expect(200)).text).not.toContain(
        'Send Invite to ' + child.email,
      );
    });

    it('the line falls on the 13th birthday: 13 today may be invited, 13 tomorrow may not', async () => {
      const thirteen = await createPortalPatient(t, { lastName: 'Thirteentoday', dateOfBirth: birthDay(today, 13) });
      const almost = await createPortalPatient(t, { lastName: 'Thirteensoon', dateOfBirth: birthDay(today, 13, 1) });
      expect(await rowOf('Thirteentoday', thirteen.id)).toContain(`Send Invite to ${thirteen.email}`);
      expect(await rowOf('Thirteentoday', thirteen.id)).toContain('Minor, age 13');
      expect(await rowOf('Thirteensoon', almost.id)).not.toContain('Send Invite to');
    });

    it('between 13 and 18 the patient may have their own account and a guardian at once; the tab shows both', async () => {
      const teen = await createPortalPatient(t, { lastName: 'Fifteen', dateOfBirth: birthDay(today, 15) });
      await addRepresentative(t, staff, teen.id, { fullName: 'Lou Fifteen' });
      await post(`/patients/${teen.id}/portal/invite`).expect(303);
      const tab = await staff.get(`/patients/${teen.id}?tab=portal`).expect(200);
      expect(tab.text).toContain('A minor old enough for their own account');
      expect(tab.text).toContain('Lou Fifteen');
      expect(tab.text).toContain('Portal status: Invited');
    });
  });

  describe('the daily age-out sweep', () => {
    it('ends parent-or-guardian representatives at 18 once across instances, audited, and lists the patient as "Turned 18"', async () => {
      const almostAdult = await createPortalPatient(t, { lastName: 'Turningadult', dateOfBirth: birthDay(today, 18, 1) });
      const guardian = await addRepresentative(t, staff, almostAdult.id, {
        fullName: 'Mo Turningadult',
        startsOn: birthDay(today, 3),
      });
      const caregiver = await addRepresentative(t, staff, almostAdult.id, {
        fullName: 'Kit Caregiver',
        relationship: 'adult_caregiver',
        startsOn: birthDay(today, 1),
      });
      await post(`/patients/${almostAdult.id}/representatives/${guardian.id}/invite`).expect(303);
      const second = await startTestApp({}, t.database);
      try {
        const tomorrow = nextDay(today);
        // Today the patient is still 17: a sweep of today ends nothing for them (whichever instance runs it).
        const sweeps = [t.app.get(RepresentativesService), second.app.get(RepresentativesService)];
        const runs = await Promise.all(sweeps.map((sweep) => sweep.sweep(tomorrow)));
        expect(runs.filter((run) => run.claimed)).toHaveLength(1);
        expect(runs.reduce((sum, run) => sum + run.ageOfMajority, 0)).toBeGreaterThanOrEqual(1);
        expect((await sweeps[1].sweep(tomorrow)).claimed).toBe(false);
      } finally {
        await second.close();
      }
      const rows = await t.dataSource.query(
        'SELECT id, ended_reason FROM patient_representatives WHERE patient_id = ? ORDER BY id',
        [almostAdult.id],
      );
      expect(rows.map((row: { ended_reason: string | null }) => row.ended_reason)).toEqual(['age_of_majority', null]);
      expect(
        Number(
          (
            await t.dataSource.query(
              'SELECT COUNT(*) AS n FROM portal_tokens WHERE representative_account_id = ? AND revoked_at IS NULL AND used_at IS NULL',
              [guardian.accountId],
            )
          )[0].n,
        ),
      ).toBe(0);
      const ended = await auditActions(t.dataSource, "action = 'representative.ended' AND patient_id = ?", [almostAdult.id]);
      expect(ended).toHaveLength(1);
      expect(JSON.parse(ended[0].details!)).toMatchObject({ representativeId: guardian.id, reason: 'age_of_majority' });
      expect(caregiver.id).toBe(Number(rows[1].id));

      const worklist = await staff.get('/portal-onboarding?turned18=yes').expect(200);
      expect(worklist.text).toContain(`patient-${almostAdult.id}"`);
      expect(worklist.text).not.toMatch(/Fifteen/);
      const listed = await t.app.get(RepresentativesService).turnedAdultWorklist();
      expect(listed.map((entry) => entry.patientId)).toContain(almostAdult.id);
    });
  });

  describe('representatives in the onboarding list', () => {
    it('shows how many active representatives a patient has and filters by it', async () => {
      const withRep = await createPortalPatient(t, { lastName: 'Repfilter' });
      const without = await createPortalPatient(t, { lastName: 'Repfilter' });
      await addRepresentative(t, staff, withRep.id, { fullName: 'A Rep', relationship: 'other' });
      await addRepresentative(t, staff, withRep.id, { fullName: 'B Rep', relationship: 'adult_caregiver' });
      expect(await rowOf('Repfilter', withRep.id)).toContain('2 representatives');
      const yes = await staff.get('/portal-onboarding?q=Repfilter&representative=yes').expect(200);
      expect(yes.text).toContain(`patient-${withRep.id}"`);
      expect(yes.text).not.toContain(`patient-${without.id}"`);
      const no = await staff.get('/portal-onboarding?q=Repfilter&representative=no').expect(200);
      expect(no.text).toContain(`patient-${without.id}"`);
      expect(no.text).not.toContain(`patient-${withRep.id}"`);
    });
  });

  describe('shared addresses', () => {
    it('are flagged when another patient holds the address (trimmed, any case)', async () => {
      const address = `family.${Date.now()}@example.test`;
      const a = await createPortalPatient(t, { lastName: 'Sharedthree', email: address });
      await createPortalPatient(t, { lastName: 'Sharedthree', email: `${address.toUpperCase()}  ` });
      await createPortalPatient(t, { lastName: 'Sharedthree', email: address.replace('family', 'Family') });
      const row = await rowOf('Sharedthree', a.id);
      expect(row).toContain('Email shared with 2 other patients');
      expect(row).not.toContain('Send Invite to');
      expect((await staff.get(`/patients/${a.id}?tab=portal`).expect(200)).text).toContain('Email shared with 2 other patients');
    });

    it("are flagged when another patient's representative or a staff user holds the address", async () => {
      const repAddress = `helper.${Date.now()}@example.test`;
      const other = await createPortalPatient(t, { lastName: 'Otherpatient' });
      await addRepresentative(t, staff, other.id, { email: repAddress, relationship: 'adult_caregiver' });
      const patient = await createPortalPatient(t, { lastName: 'Repaddress', email: repAddress.toUpperCase() });
      expect(await rowOf('Repaddress', patient.id)).toContain('Email shared with 1 another patient’s representative');
      const staffUser = await createStaffUser(t);
      const staffAddress = await createPortalPatient(t, { lastName: 'Staffaddress', email: staffUser.email });
      expect(await rowOf('Staffaddress', staffAddress.id)).toContain('Email shared with a staff user');
    });

    it('a single invite from the tab needs the ticked confirmation and a reason, and is audited', async () => {
      const address = `pair.${Date.now()}@example.test`;
      const patient = await createPortalPatient(t, { lastName: 'Confirmshared', email: address });
      await createPortalPatient(t, { lastName: 'Confirmshared', email: address });
      const refused = await post(`/patients/${patient.id}/portal/invite`);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('Tick the box to confirm that this patient alone reads that mailbox');
      const noReason = await post(`/patients/${patient.id}/portal/invite`, { confirmShared: 'yes', sharedReason: '' });
      expect(noReason.status).toBe(400);
      expect(await outboxTo(address)).toBe(0);
      await post(`/patients/${patient.id}/portal/invite`, {
        confirmShared: 'yes',
        sharedReason: 'Spouse holds the other record; patient confirmed they alone read it',
      }).expect(303);
      expect(await outboxTo(address)).toBe(1);
      const [event] = await auditActions(t.dataSource, "action = 'portal.shared_email_confirmed' AND patient_id = ?", [
        patient.id,
      ]);
      expect(JSON.parse(event.details!)).toMatchObject({ sharedWith: 'Email shared with 1 other patient' });
      expect(event.actor_id).toBe(staff.user.id);
    });

    it('a family sharing one address never gets a bulk invite; the preview counts them and the failed emails', async () => {
      const address = `household.${Date.now()}@example.test`;
      const family: Array<{ id: number }> = [];
      for (const firstName of ['Ana', 'Ben', 'Cal'])
        family.push(await createPortalPatient(t, { firstName, lastName: 'Householdbulk', email: address }));
      const single = await createPortalPatient(t, { lastName: 'Householdbulk' });
      await t.dataSource.query(
        "INSERT INTO mail_outbox (patient_id, kind, to_address, subject, status, attempts, next_attempt_at, created_at) VALUES (?, 'portal_invite', ?, 'x', 'failed', 8, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        [single.id, single.email],
      );
      const preview = await htmxPost('/portal-onboarding/bulk/invite/preview', 'scope=filter&q=Householdbulk').expect(200);
      expect(preview.text).toContain('1 invite will be sent; 1 of them: the last email failed or bounced');
      expect(preview.text).toContain('3 skipped: email shared with another patient');
      await htmxPost('/portal-onboarding/bulk/invite', 'scope=filter&q=Householdbulk').expect(200);
      expect(await outboxTo(address)).toBe(0);
      expect(await outboxTo(single.email!)).toBe(2);
      const skipped = await auditActions(
        t.dataSource,
        "action = 'portal.invite_skipped' AND patient_id IN (?, ?, ?)",
        family.map((p) => p.id),
      );
      expect(skipped.map((event) => JSON.parse(event.details!).reason)).toEqual(['shared_email', 'shared_email', 'shared_email']);
    });
  });
});
