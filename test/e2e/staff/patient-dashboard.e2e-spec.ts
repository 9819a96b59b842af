import { seedDemoData } from '../../../src/demo/demo-seeder';
import { csrfTokenOf } from '../../support/html';
import { auditActions } from '../../support/sessions';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

describe('a staff member on a patient dashboard', () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let providers: { id: number; name: string }[];
  let tags: { id: number; name: string }[];
  beforeAll(async () => {
    t = await startTestApp();
    await seedDemoData(t.dataSource, { patients: 20, seed: 3 });
    staff = await signInAs(t);
    providers = await t.dataSource.query('SELECT id, name FROM providers ORDER BY id');
    tags = await t.dataSource.query('SELECT id, name FROM tags ORDER BY id');
  });
  afterAll(async () => t.close());

  const patient = async (id: number) =>
    (
      await t.dataSource.query(
        'SELECT first_name, last_name, date_of_birth, primary_provider_id, version FROM patients WHERE id = ?',
        [id],
      )
    )[0];
  const form = (id: number, overrides: Record<string, unknown>) => ({
    firstName: 'Maria',
    lastName: "O'Neill-Smith",
    dateOfBirth: '1975-06-15',
    primaryProviderId: String(providers[1].id),
    tagIds: [String(tags[0].id), String(tags[2].id)],
    ...overrides,
  });

  /** Posts the details form as on file (name, birth date, provider, tags, version), plus `fields`. */
  const saveAsOnFile = async (id: number, fields: Record<string, string>) => {
    const before = await patient(id);
    const tagIds = (await t.dataSource.query('SELECT tag_id FROM patient_tags WHERE patient_id = ?', [id])).map(
      (r: { tag_id: number }) => String(r.tag_id),
    );
    return staff
      .post(`/patients/${id}/details`)
      .type('form')
      .send({
        _csrf: staff.csrf,
        firstName: before.first_name,
        lastName: before.last_name,
        dateOfBirth: String(before.date_of_birth).slice(0, 10),
        primaryProviderId: before.primary_provider_id ? String(before.primary_provider_id) : '',
        tagIds,
        version: String(before.version),
        ...fields,
      });
  };

  it('shows the Patient Information block with its tabs, and records the view in the audit trail', async () => {
    const res = await staff.get('/patients/1').expect(200);
    expect(res.text).toContain('Patient Information');
    expect(res.text).toContain('href="/patients/1?tab=portal"');
    const views = await auditActions(t.dataSource, 'action = ? AND patient_id = 1', ['patient.viewed']);
    expect(views).toHaveLength(1);
  });

  it("shows the Patient Portal tab: status with its label, email, username, sign-ins and the patient's audit events", async () => {
    await t.dataSource.query(
      "UPDATE portal_accounts SET access_enabled = 1, enabled_at = '2026-01-02 03:04:05', enabled_by_staff_id = ?, username = 'jdoe7', username_key = 'jdoe7', invited_at = '2026-01-03 00:00:00', first_login_at = '2026-01-04 00:00:00', last_login_at = '2026-01-05 00:00:00' WHERE patient_id = 7",
      [staff.user.id],
    );
    const res = await staff.get('/patients/7?tab=portal').expect(200);
    expect(res.text).toContain('aria-label="Portal status: Active');
    expect(res.text).toContain('jdoe7');
    expect(res.text).toContain('2026-01-02 03:04 UTC by Sam Staff');
    expect(res.text).toContain('2026-01-04 00:00 UTC');
    expect(res.text).toContain('No invite or reset email has been sent.');
    expect(res.text).toContain('Record viewed 1 time by staff, last by Sam Staff');
  });

  it('answers 404 for an unknown patient and 400 for a malformed id', async () => {
    expect((await staff.get('/patients/999999')).status).toBe(404);
    expect((await staff.get('/patients/abc')).status).toBe(400);
    expect((await staff.get('/patients/1?tab=secrets')).status).toBe(400);
  });

  it('saves edited details (name, birth date, provider, tags) and audits which fields changed', async () => {
    const { version } = await patient(2);
    const res = await staff
      .post('/patients/2/details')
      .type('form')
      .send({ _csrf: staff.csrf, ...form(2, { version: String(version) }) });
    expect(res.status).toBe(303);
    const after = await patient(2);
    expect(after).toMatchObject({
      first_name: 'Maria',
      last_name: "O'Neill-Smith",
      date_of_birth: '1975-06-15',
      primary_provider_id: providers[1].id,
    });
    expect(Number(after.version)).toBe(Number(version) + 1);
    const tagRows = await t.dataSource.query('SELECT tag_id FROM patient_tags WHERE patient_id = 2 ORDER BY tag_id');
    expect(tagRows.map((row: { tag_id: number }) => Number(row.tag_id))).toEqual([tags[0].id, tags[2].id]);
    const [event] = await auditActions(t.dataSource, 'action = ? AND patient_id = 2', ['patient.details_changed']);
    expect(JSON.parse(event.details!).changed).toEqual(expect.arrayContaining(['firstName', 'lastName', 'dateOfBirth']));
  });

  it('refuses a second edit made from a stale form with a clear "changed by someone else" message', async () => {
    const { version } = await patient(3);
    const first = await staff
      .post('/patients/3/details')
      .type('form')
      .send({ _csrf: staff.csrf, ...form(3, { firstName: 'First', version: String(version) }) });
    expect(first.status).toBe(303);
    const second = await staff
      .post('/patients/3/details')
      .type('form')
      .send({ _csrf: staff.csrf, ...form(3, { firstName: 'Second', version: String(version) }) });
    expect(second.status).toBe(409);
    expect(second.text).toContain('This patient was changed by someone else');
    expect((await patient(3)).first_name).toBe('First');
  });

  it.each([
    [{ firstName: '' }, 'Enter a first name'],
    [{ lastName: 'x'.repeat(101) }, 'Enter a last name of 1 to 100 characters'],
    [{ dateOfBirth: '1975-02-30' }, 'That date does not exist.'],
    [{ dateOfBirth: '2099-01-01' }, 'cannot be in the future'],
    [{ lastName: '<img src=x>' }, 'cannot be used'],
    [{ dateOfBirth: 'yesterday' }, 'Enter the date of birth as a date'],
    [{ primaryProviderId: '987654' }, 'Choose a provider from the list.'],
    [{ tagIds: ['987654'] }, 'Choose tags from the list.'],
    [{ firstName: 'Bad\u0000Name' }, 'cannot be used'],
  ])('re-renders the form with a clear message for %j and changes nothing', async (overrides, message) => {
    const before = await patient(4);
    const res = await staff
      .post('/patients/4/details')
      .type('form')
      .send({ _csrf: staff.csrf, ...form(4, { version: String(before.version), ...overrides }) });
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
    expect(res.text).toContain('action="/patients/4/details"');
    expect(await patient(4)).toEqual(before);
  });

  it('refuses fields that are not editable here (email, portal state) without changing anything', async () => {
    const before = await patient(5);
    const res = await staff
      .post('/patients/5/details')
      .type('form')
      .send({ _csrf: staff.csrf, ...form(5, { version: String(before.version), email: 'attacker@evil.test' }) });
    expect(res.status).toBe(400);
    expect(await patient(5)).toEqual(before);
  });

  it('renders names that came from elsewhere (an import) as text, never as markup or template code', async () => {
    await t.dataSource.query(
      "UPDATE patients SET first_name = '{{7*7}}', last_name = '<img src=x onerror=alert(1)>' WHERE id = 6",
    );
    const page = await staff.get('/patients/6').expect(200);
    expect(page.text).toContain('{{7*7}}');
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).not.toContain('<img src=x');
    expect(csrfTokenOf(page.text)).toBeTruthy();
  });

  describe('the phone on file', () => {
    const phoneOf = async (id: number) => (await t.dataSource.query('SELECT phone, version FROM patients WHERE id = ?', [id]))[0];
    const save = (id: number, phone: string) => saveAsOnFile(id, { phone });

    it('is edited with the other details, normalised, and audited as "changed: phone" only', async () => {
      const res = await save(8, ' +44 (20)  7946.0958 ');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/patients/8?saved=details');
      expect((await phoneOf(8)).phone).toBe('+44 (20) 7946 0958');
      const [event] = await auditActions(t.dataSource, 'action = ? AND patient_id = 8', ['patient.details_changed']);
      expect(JSON.parse(event.details!).changed).toEqual(['phone']);
      expect((await staff.get('/patients/8').expect(200)).text).toContain('+44 (20) 7946 0958');
    });

    it('is cleared by an empty box, and refused in words when it is not a phone number', async () => {
      expect((await save(9, '')).status).toBe(303);
      expect((await phoneOf(9)).phone).toBeNull();
      for (const bad of ['call me', '123', '+1 555 0100 0100 0100 0100', 'x'.repeat(65)]) {
        const before = await phoneOf(9);
        const res = await save(9, bad);
        expect(res.status).toBe(400);
        expect(res.text).toContain('Enter a phone number of 7 to 15 digits');
        expect(await phoneOf(9)).toEqual(before);
      }
    });

    it('saved back as it was (even in a format the form would refuse, e.g. from an import) changes nothing', async () => {
      await t.dataSource.query("UPDATE patients SET phone = '555-0100 ext. 12' WHERE id = 10");
      const before = await phoneOf(10);
      const res = await save(10, '555-0100 ext. 12');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/patients/10?saved=unchanged');
      expect(await phoneOf(10)).toEqual(before);
      expect(await auditActions(t.dataSource, 'action = ? AND patient_id = 10', ['patient.details_changed'])).toEqual([]);
    });
  });

  describe('the postal address', () => {
    const addressOf = async (id: number) =>
      (
        await t.dataSource.query(
          'SELECT address_line1, address_line2, address_city, address_region, address_postal_code, address_country, version FROM patients WHERE id = ?',
          [id],
        )
      )[0];
    const save = (id: number, address: Record<string, string>) => saveAsOnFile(id, address);
    // The demo data gives most patients an address: these tests start from none.
    beforeAll(async () => {
      await t.dataSource.query(
        'UPDATE patients SET address_line1 = NULL, address_line2 = NULL, address_city = NULL, address_region = NULL, address_postal_code = NULL, address_country = NULL WHERE id IN (11, 12)',
      );
    });
    const full = {
      addressLine1: '  12   Elm Street ',
      addressLine2: 'Apt 4',
      addressCity: 'Springfield',
      addressRegion: 'IL',
      addressPostalCode: '62704',
      addressCountry: 'USA',
    };

    it('is saved cleaned, shown as an envelope shows it, and audited by part', async () => {
      const res = await save(11, full);
      expect(res.headers.location).toBe('/patients/11?saved=details');
      expect(await addressOf(11)).toMatchObject({
        address_line1: '12 Elm Street',
        address_line2: 'Apt 4',
        address_city: 'Springfield',
        address_region: 'IL',
        address_postal_code: '62704',
        address_country: 'USA',
      });
      const [event] = await auditActions(t.dataSource, 'action = ? AND patient_id = 11', ['patient.details_changed']);
      expect(JSON.parse(event.details!).changed).toEqual([
        'addressLine1',
        'addressLine2',
        'addressCity',
        'addressRegion',
        'addressPostalCode',
        'addressCountry',
      ]);
      const page = (await staff.get('/patients/11').expect(200)).text;
      expect(page).toContain('12 Elm Street<br>Apt 4<br>Springfield, IL 62704<br>USA');
      const editing = (await staff.get('/patients/11?tab=details&edit=details').expect(200)).text;
      expect(editing).toContain('name="addressPostalCode" maxlength="20" autocomplete="off" value="62704"');
    });

    it('saved back as on file (spacing from an import kept) changes nothing; an emptied part is cleared', async () => {
      await t.dataSource.query("UPDATE patients SET address_line1 = '7  Oak  Lane', address_city = 'Shelbyville' WHERE id = 12");
      const before = await addressOf(12);
      const same = await save(12, { addressLine1: '7  Oak  Lane', addressCity: 'Shelbyville', addressPostalCode: '' });
      expect(same.headers.location).toBe('/patients/12?saved=unchanged');
      expect(await addressOf(12)).toEqual(before);
      expect((await save(12, { addressLine1: '7  Oak  Lane', addressCity: '' })).status).toBe(303);
      expect(await addressOf(12)).toMatchObject({ address_line1: '7  Oak  Lane', address_city: null });
    });

    it('refuses a part that is too long or holds markup, in words, and changes nothing', async () => {
      const before = await addressOf(13);
      const long = await save(13, { addressPostalCode: '1'.repeat(21) });
      expect(long.status).toBe(400);
      expect(long.text).toContain('Use at most 20 characters for postal code.');
      const markup = await save(13, { addressCity: '<b>Town</b>' });
      expect(markup.status).toBe(400);
      expect(markup.text).toContain('The city contains characters that cannot be used.');
      expect(await addressOf(13)).toEqual(before);
    });
  });
});
