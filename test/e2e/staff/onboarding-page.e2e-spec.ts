import request from 'supertest';
import { PORTAL_STATUSES, portalStatus, portalStatusSql } from '../../../src/portal-access/portal-status';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { STATUS_COMBINATIONS } from '../../unit/portal-status.fixtures';
import { addPatient, linkOf, loadPatients, PatientModel, rowIds, SEED_NOW, seedPatients, totalOf } from './onboarding-fixtures';

type Agent = Awaited<ReturnType<typeof signInAs>>;

/** Follows the page's own "Next" links and returns every id shown, in order. */
async function allPages(agent: Agent, query: string): Promise<{ ids: number[]; total: number; pages: string[] }> {
  let url: string | null = `/portal-onboarding?${query}`;
  const ids: number[] = [];
  const pages: string[] = [];
  let total = -1;
  while (url) {
    const res = await agent.get(url).set('HX-Request', 'true').expect(200);
    pages.push(url);
    ids.push(...rowIds(res.text));
    total = totalOf(res.text);
    url = linkOf(res.text, 'next');
    if (pages.length > 50) throw new Error('pager does not end');
  }
  return { ids, total, pages };
}

const day = (iso: string) => new Date(`${iso}T00:00:00Z`).getTime();
const sortIds = (list: PatientModel[]) => list.map((p) => p.id).sort((a, b) => a - b);

describe('the onboarding page (staff)', () => {
  let t: TestApp;
  let agent: Agent;
  let patients: PatientModel[];
  let tags: { id: number; name: string }[];
  let providers: { id: number; name: string }[];

  beforeAll(async () => {
    t = await startTestApp();
    await seedPatients(t, 260);
    await addPatient(t, { firstName: '<img src=x onerror=alert(1)>', lastName: '{{7*7}}', email: 'xss@example.test' });
    await addPatient(t, { firstName: 'Percy', lastName: '50%_Off' });
    await addPatient(t, { firstName: 'Percy', lastName: '50xyOff' });
    patients = await loadPatients(t);
    tags = await t.dataSource.query('SELECT id, name FROM tags ORDER BY id');
    providers = await t.dataSource.query('SELECT id, name FROM providers ORDER BY id');
    agent = await signInAs(t);
  });
  afterAll(async () => t.close());

  it('is reached from the Pt Portal menu and shows the legend, the filters and the first 50 patients by name', async () => {
    const res = await agent.get('/portal-onboarding').expect(200);
    expect(res.text).toContain('<a href="/portal-onboarding" aria-current="page">Pt Portal Onboarding Tool</a>');
    for (const label of ['Not enabled', 'Enabled', 'Invited', 'Active'])
      expect(res.text).toContain(`<span class="status-label">${label}</span>`);
    for (const name of ['q', 'tag', 'provider', 'access', 'username', 'apptBefore', 'apptAfter', 'status'])
      expect(res.text).toContain(`name="${name}"`);
    expect(rowIds(res.text)).toHaveLength(50);
    expect(totalOf(res.text)).toBe(patients.length);
    expect(res.text).toContain('Select all ' + patients.length + ' matching this filter');
    expect(res.text).toContain('<script src="/static/js/onboarding.js" defer></script>');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('shows each column: status block with a text label, name link, DOB, email or "No email on file", username, provider, next appointment', async () => {
    const red = patients.find((p) => p.status === 'red' && p.email === null)!;
    const green = patients.find((p) => p.status === 'green' && p.username && p.providerId && p.nextAppointmentAt)!;
    const redRow = await agent
      .get(`/portal-onboarding?q=${encodeURIComponent(`${red.lastName}, ${red.firstName}`)}&status=red`)
      .set('HX-Request', 'true')
      .expect(200);
    expect(redRow.text).toContain(
      `aria-label="Enable portal access for ${escapeHtml(`${red.firstName} ${red.lastName}`)} — status: Not enabled"`,
    );
    expect(redRow.text).toContain('No email on file');
    const greenRow = await agent
      .get(`/portal-onboarding?q=${encodeURIComponent(`${green.lastName}, ${green.firstName}`)}&status=green`)
      .set('HX-Request', 'true')
      .expect(200);
    const row = greenRow.text.slice(greenRow.text.indexOf(`<tr id="patient-${green.id}"`));
    expect(row).toContain(`<a href="/patients/${green.id}">`);
    expect(row).toContain('<span class="status status-green"');
    expect(row).toContain(green.dateOfBirth);
    expect(row).toContain(green.username!);
    expect(row).toContain(providers.find((p) => Number(p.id) === green.providerId)!.name);
    expect(row).toContain(green.nextAppointmentAt!.toISOString().slice(0, 16).replace('T', ' '));
    // A patient who has signed in gets a password reset, and the link says so (gray and orange keep "Send Invite to").
    expect(row).toContain(`Send password reset to ${green.email}`);
    expect(redRow.text).not.toContain('Send password reset');
    expect(row.slice(0, row.indexOf('</tr>'))).not.toContain('<button type="submit" class="status');
  });

  it('answers htmx with the results fragment only, varying on HX-Request', async () => {
    const res = await agent.get('/portal-onboarding?status=gray').set('HX-Request', 'true').expect(200);
    expect(res.text).not.toContain('<html');
    expect(res.text.trim().startsWith('<div id="results"')).toBe(true);
    expect(res.headers.vary).toMatch(/HX-Request/);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  describe('each filter alone, against an independent computation', () => {
    const tagIdAt = (i: number) => () => tags[i].id;
    // A plain-ASCII name: MariaDB's collation also ignores accents, SQLite's does not.
    const probe = () => patients.find((p) => /^[A-Za-z]{4,}$/.test(p.lastName) && /^[A-Za-z]{2,}$/.test(p.firstName))!;
    const cases: [string, () => string, (p: PatientModel) => boolean][] = [
      [
        'name prefix "jo"',
        () => 'q=jo',
        (p) => p.lastName.toLowerCase().startsWith('jo') || p.firstName.toLowerCase().startsWith('jo'),
      ],
      [
        'name as "Last, First"',
        () => `q=${encodeURIComponent(`${probe().lastName.slice(0, 3)}, ${probe().firstName.slice(0, 2)}`)}`,
        (p) =>
          p.lastName.toLowerCase().startsWith(probe().lastName.slice(0, 3).toLowerCase()) &&
          p.firstName.toLowerCase().startsWith(probe().firstName.slice(0, 2).toLowerCase()),
      ],
      [
        'name with an apostrophe',
        () => "q=O'B",
        (p) => p.lastName.toLowerCase().startsWith("o'b") || p.firstName.toLowerCase().startsWith("o'b"),
      ],
      ['tag', () => `tag=${tagIdAt(1)()}`, (p) => p.tagIds.includes(Number(tags[1].id))],
      ['primary provider', () => `provider=${providers[2].id}`, (p) => p.providerId === Number(providers[2].id)],
      ['access enabled yes', () => 'access=yes', (p) => p.accessEnabled],
      ['access enabled no', () => 'access=no', (p) => !p.accessEnabled],
      ['has username yes', () => 'username=yes', (p) => p.username !== null],
      ['has username no', () => 'username=no', (p) => p.username === null],
      [
        'next appointment before',
        () => 'apptBefore=2026-12-01',
        (p) => p.nextAppointmentAt !== null && p.nextAppointmentAt.getTime() < day('2026-12-01'),
      ],
      [
        'next appointment after',
        () => 'apptAfter=2026-12-01',
        (p) => p.nextAppointmentAt !== null && p.nextAppointmentAt.getTime() >= day('2026-12-02'),
      ],
      ...PORTAL_STATUSES.map((status): [string, () => string, (p: PatientModel) => boolean] => [
        `status ${status}`,
        () => `status=${status}`,
        (p) => p.status === status,
      ]),
    ];
    it.each(cases)('%s', async (_name, query, predicate) => {
      const expected = sortIds(patients.filter(predicate));
      const { ids, total } = await allPages(agent, `${query()}&size=100`);
      expect(total).toBe(expected.length);
      expect([...ids].sort((a, b) => a - b)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
    });
  });

  it('combines filters (AND)', async () => {
    const tag = Number(tags[0].id);
    const provider = Number(providers[1].id);
    const combos: [string, (p: PatientModel) => boolean][] = [
      [`tag=${tag}&access=yes&username=no`, (p) => p.tagIds.includes(tag) && p.accessEnabled && p.username === null],
      [
        `provider=${provider}&status=red&apptAfter=2026-11-10`,
        (p) =>
          p.providerId === provider &&
          p.status === 'red' &&
          !!p.nextAppointmentAt &&
          p.nextAppointmentAt.getTime() >= day('2026-11-11'),
      ],
      [
        `q=m&tag=${tag}`.replace('q=m', 'q=ma'),
        (p) =>
          (p.lastName.toLowerCase().startsWith('ma') || p.firstName.toLowerCase().startsWith('ma')) && p.tagIds.includes(tag),
      ],
      [
        'apptAfter=2026-11-05&apptBefore=2026-12-15&access=no',
        (p) =>
          !!p.nextAppointmentAt &&
          p.nextAppointmentAt.getTime() >= day('2026-11-06') &&
          p.nextAppointmentAt.getTime() < day('2026-12-15') &&
          !p.accessEnabled,
      ],
      [`status=orange&username=yes`, (p) => p.status === 'orange' && p.username !== null],
    ];
    for (const [query, predicate] of combos) {
      const { ids, total } = await allPages(agent, `${query}&size=100`);
      const expected = sortIds(patients.filter(predicate));
      expect({ query, total, ids: [...ids].sort((a, b) => a - b) }).toEqual({ query, total: expected.length, ids: expected });
    }
  });

  it('agrees with portalStatus() on every combination of the status fields, in SQL on this database', async () => {
    const ids: number[] = [];
    for (const combination of STATUS_COMBINATIONS) {
      const id = await addPatient(t, { firstName: 'Combo', lastName: 'Zzstatus' });
      await t.dataSource.query(
        'UPDATE portal_accounts SET access_enabled = ?, invited_at = ?, first_login_at = ? WHERE patient_id = ?',
        [combination.accessEnabled ? 1 : 0, combination.invitedAt, combination.firstLoginAt, id],
      );
      ids.push(id);
    }
    const sqlRows: { patient_id: number; status: string }[] = await t.dataSource.query(
      `SELECT pa.patient_id, ${portalStatusSql('pa')} AS status FROM portal_accounts pa WHERE pa.patient_id IN (${ids.join(',')}) ORDER BY pa.patient_id`,
    );
    expect(sqlRows.map((r) => r.status)).toEqual(STATUS_COMBINATIONS.map((c) => portalStatus(c)));
    for (const status of PORTAL_STATUSES) {
      const res = await agent.get(`/portal-onboarding?q=Zzstatus&status=${status}`).set('HX-Request', 'true').expect(200);
      const expected = ids.filter((_, i) => portalStatus(STATUS_COMBINATIONS[i]) === status);
      expect({ status, ids: rowIds(res.text).sort((a, b) => a - b) }).toEqual({ status, ids: expected });
      for (const id of expected)
        expect(res.text).toMatch(
          new RegExp(
            `<tr id="patient-${id}"[^>]*>\\s*<td class="col-select">(?:(?!</tr>)[\\s\\S])*?class="status status-${status}"`,
          ),
        );
    }
    await t.dataSource.query(`DELETE FROM patients WHERE id IN (${ids.join(',')})`);
  });

  it('shows an expired invite as "Invite expired" (still orange) and filters expired and failed invites', async () => {
    const make = async (firstName: string) => {
      const id = await addPatient(t, {
        firstName,
        lastName: 'Zzinvite',
        email: `${firstName.toLowerCase()}@example.test`,
        status: 'gray',
      });
      await agent
        .post(`/portal-onboarding/patients/${id}/invite`)
        .set('HX-Request', 'true')
        .set('X-CSRF-Token', agent.csrf)
        .expect(200);
      return id;
    };
    const [fine, expired, failed] = [await make('Fine'), await make('Expired'), await make('Failed')];
    await t.dataSource.query("UPDATE portal_tokens SET expires_at = '2026-01-01 00:00:00' WHERE patient_id IN (?, ?)", [
      expired,
      failed,
    ]);
    await t.dataSource.query(
      "UPDATE mail_outbox SET status = 'failed', last_error = 'mailbox unavailable' WHERE patient_id = ?",
      [failed],
    );

    const all = await agent.get('/portal-onboarding?q=Zzinvite').set('HX-Request', 'true').expect(200);
    const rowOf = (html: string, id: number) =>
      html.slice(html.indexOf(`<tr id="patient-${id}"`), html.indexOf('</tr>', html.indexOf(`<tr id="patient-${id}"`)));
    expect(rowOf(all.text, expired)).toMatch(/Invite expired\s+2026-01-01 00:00 UTC/);
    expect(rowOf(all.text, expired)).toContain('<span class="status status-orange"');
    expect(rowOf(all.text, expired)).not.toContain('Invite queued');
    expect(rowOf(all.text, failed)).toContain('Invite failed');
    expect(rowOf(all.text, fine)).toContain('Invite queued');
    for (const [status, ids] of [
      ['orange-expired', [expired]],
      ['orange-failed', [failed]],
      ['orange', [fine, expired, failed]],
    ] as const) {
      const res = await agent.get(`/portal-onboarding?q=Zzinvite&status=${status}`).set('HX-Request', 'true').expect(200);
      expect({ status, ids: rowIds(res.text).sort((a, b) => a - b) }).toEqual({ status, ids: [...ids].sort((a, b) => a - b) });
    }
    const page = await agent.get('/portal-onboarding').expect(200);
    expect(page.text).toContain('<option value="orange-expired" >Invited: invite expired (orange)</option>');
    expect(page.text).toContain('<option value="orange-failed" >Invited: invite failed (orange)</option>');
    await t.dataSource.query('DELETE FROM mail_outbox WHERE patient_id IN (?, ?, ?)', [fine, expired, failed]);
    await t.dataSource.query('DELETE FROM portal_tokens WHERE patient_id IN (?, ?, ?)', [fine, expired, failed]);
    await t.dataSource.query('DELETE FROM portal_accounts WHERE patient_id IN (?, ?, ?)', [fine, expired, failed]);
    await t.dataSource.query('DELETE FROM patients WHERE id IN (?, ?, ?)', [fine, expired, failed]);
  });

  describe('finds a patient by what the caller says (search box)', () => {
    let known: { id: number; external_id: string; date_of_birth: string | Date; phone: string; email: string };
    const totalFor = async (q: string) => {
      const res = await agent
        .get(`/portal-onboarding?q=${encodeURIComponent(q)}&size=100`)
        .set('HX-Request', 'true')
        .expect(200);
      return { total: totalOf(res.text), ids: rowIds(res.text).sort((a, b) => a - b), html: res.text };
    };
    beforeAll(async () => {
      [known] = await t.dataSource.query(
        'SELECT id, external_id, date_of_birth, phone, email FROM patients WHERE phone IS NOT NULL AND email IS NOT NULL AND external_id IS NOT NULL ORDER BY id LIMIT 1',
      );
    });
    const dob = () =>
      known.date_of_birth instanceof Date
        ? known.date_of_birth.toISOString().slice(0, 10)
        : String(known.date_of_birth).slice(0, 10);

    it('by MRN, shown in its own column', async () => {
      const { ids, html } = await totalFor(known.external_id);
      expect(ids).toEqual([Number(known.id)]);
      expect(html).toContain(`<td class="col-mrn">${known.external_id}</td>`);
      expect(html).toContain('<th scope="col">MRN</th>');
    });

    it('by date of birth typed MM/DD/YYYY (or YYYY-MM-DD)', async () => {
      const [y, m, d] = dob().split('-');
      const expected = sortIds(patients.filter((p) => p.dateOfBirth === dob()));
      expect((await totalFor(`${m}/${d}/${y}`)).ids).toEqual(expected);
      expect((await totalFor(dob())).ids).toEqual(expected);
    });

    it('by phone, digits only, however it is written', async () => {
      const digits = known.phone.replace(/\D/g, '');
      const rows: { id: number; phone: string | null }[] = await t.dataSource.query('SELECT id, phone FROM patients');
      const expected = rows
        .filter((r) => r.phone && r.phone.replace(/\D/g, '').startsWith(digits))
        .map((r) => Number(r.id))
        .sort((a, b) => a - b);
      const spoken = `(${digits.slice(0, 3)}) ${digits.slice(3)}`;
      const found = await totalFor(spoken);
      expect(found.ids).toEqual(expected);
      expect(found.ids).toContain(Number(known.id));
    });

    it('by email (start of the address, any case)', async () => {
      const prefix = known.email.slice(0, known.email.indexOf('@') + 1).toUpperCase();
      const expected = sortIds(patients.filter((p) => p.email && p.email.toLowerCase().startsWith(prefix.toLowerCase())));
      expect((await totalFor(prefix)).ids).toEqual(expected);
    });

    it("counts what it lists (the pager's count agrees with the rows)", async () => {
      const digits = known.phone.replace(/\D/g, '').slice(0, 4);
      const rows: { id: number; phone: string | null; external_id: string | null }[] = await t.dataSource.query(
        'SELECT id, phone, external_id FROM patients',
      );
      const expected = rows.filter(
        (r) => (r.phone && r.phone.replace(/\D/g, '').startsWith(digits)) || (r.external_id ?? '').startsWith(digits),
      );
      const { total } = await totalFor(digits);
      expect(total).toBe(expected.length);
      expect(total).toBeGreaterThan(0);
    });
  });

  describe('sorting and keyset pagination', () => {
    it("pages by name in the database's collation order, 50 at a time, without skipping or repeating", async () => {
      const ordered: { id: number }[] = await t.dataSource.query('SELECT id FROM patients ORDER BY last_name, first_name, id');
      const { ids, pages } = await allPages(agent, '');
      expect(ids).toEqual(ordered.map((r) => Number(r.id)));
      expect(pages).toHaveLength(Math.ceil(patients.length / 50));
    });

    it('pages by date of birth and by next appointment (patients without one last)', async () => {
      const byDob = [...patients].sort((a, b) => a.dateOfBirth.localeCompare(b.dateOfBirth) || a.id - b.id).map((p) => p.id);
      expect((await allPages(agent, 'sort=dob&size=25')).ids).toEqual(byDob);
      const withNext = patients
        .filter((p) => p.nextAppointmentAt)
        .sort((a, b) => a.nextAppointmentAt!.getTime() - b.nextAppointmentAt!.getTime() || a.id - b.id);
      const without = patients.filter((p) => !p.nextAppointmentAt).sort((a, b) => a.id - b.id);
      expect((await allPages(agent, 'sort=next&size=25')).ids).toEqual([...withNext, ...without].map((p) => p.id));
    });

    it('goes back with "Previous" to exactly the pages seen before, keeping filters and sort', async () => {
      const query = `sort=next&access=no&size=25`;
      const forward: number[][] = [];
      let url: string | null = `/portal-onboarding?${query}`;
      let last = '';
      while (url) {
        const res = await agent.get(url).set('HX-Request', 'true').expect(200);
        forward.push(rowIds(res.text));
        last = res.text;
        url = linkOf(res.text, 'next');
        if (url) expect(url).toContain('access=no');
        if (url) expect(url).toContain('sort=next');
        if (url) expect(url).toContain('size=25');
      }
      expect(forward.length).toBeGreaterThan(2);
      expect(linkOf(forward.length ? last : '', 'prev')).not.toBeNull();
      const backward: number[][] = [];
      let back = linkOf(last, 'prev');
      while (back) {
        expect(back).toContain('access=no');
        const res = await agent.get(back).set('HX-Request', 'true').expect(200);
        backward.unshift(rowIds(res.text));
        back = linkOf(res.text, 'prev');
      }
      expect(backward).toEqual(forward.slice(0, -1));
    });

    it('says "Page N of M" along the Next links, and First/Last/Go to page land on the same pages as walking', async () => {
      for (const query of ['size=25', 'sort=next&size=25', 'sort=dob&access=no&size=25']) {
        const walked: number[][] = [];
        let url: string | null = `/portal-onboarding?${query}`;
        let pages = 0;
        while (url) {
          const res = await agent.get(url).set('HX-Request', 'true').expect(200);
          walked.push(rowIds(res.text));
          pages = Number(/Page \d+ of (\d+)/.exec(res.text)![1]);
          expect(res.text).toContain(`Page ${walked.length} of ${pages}`);
          url = linkOf(res.text, 'next');
        }
        expect(walked.length).toBe(pages);
        expect(pages).toBeGreaterThan(3);
        for (const n of [1, 2, 3, pages - 1, pages]) {
          const res = await agent.get(`/portal-onboarding?${query}&page=${n}`).set('HX-Request', 'true').expect(200);
          expect({ query, n, ids: rowIds(res.text) }).toEqual({ query, n, ids: walked[n - 1] });
          expect(res.text).toContain(`Page ${n} of ${pages}`);
          // From a jumped-to page, Next and Previous continue by keyset, numbered.
          const next = linkOf(res.text, 'next');
          if (n < pages) expect(rowIds((await agent.get(next!).set('HX-Request', 'true').expect(200)).text)).toEqual(walked[n]);
          const prev = linkOf(res.text, 'prev');
          if (n > 1) {
            const back = await agent.get(prev!).set('HX-Request', 'true').expect(200);
            expect(rowIds(back.text)).toEqual(walked[n - 2]);
            expect(back.text).toContain(`Page ${n - 1} of ${pages}`);
          }
        }
        const first = await agent.get(`/portal-onboarding?${query}&page=3`).expect(200);
        expect(first.text).toContain('« First</a>');
        expect(first.text).toContain(`page=${pages}" hx-get=`);
        expect(first.text).toContain(`<input type="number" name="page" min="1" max="${pages}" value="3"`);
        // Past the end (the list got shorter since the bookmark): the last page, and why.
        const past = await agent.get(`/portal-onboarding?${query}&page=${pages + 40}`).expect(200);
        expect(rowIds(past.text)).toEqual(walked[pages - 1]);
        expect(past.text).toContain(`Page: there are only ${pages} pages; showing the last.`);
      }
    });

    it('keeps the filters in the sort links', async () => {
      const res = await agent.get(`/portal-onboarding?status=red&tag=${tags[0].id}`).expect(200);
      expect(res.text).toContain(`href="/portal-onboarding?tag=${tags[0].id}&amp;status=red&amp;sort=dob"`);
    });
  });

  describe('a bookmark with unknown or stale parameters (issue 13, defect 6)', () => {
    const red = () => patients.filter((p) => p.status === 'red');
    it.each([
      ['sort=name;DROP TABLE patients', 'sort', 'Sort: not a column of this list; sorted by name.'],
      ['size=100000', 'size', 'Rows per page: choose 25, 50 or 100; showing 50.'],
      ['q=a', 'q', 'Search: needs 2 to 100 characters, without control characters.'],
      ['q=ab&q=cd', 'q', 'Search: given more than once; left out.'],
      ['tag=999999', 'tag', 'Tag: no longer in the list (deleted or mistyped); left out.'],
      ['access=maybe', 'access', 'Access enabled: choose Any, Yes or No.'],
      ['username=perhaps', 'username', 'Has username: choose Any, Yes or No.'],
      ['page=0', 'page', 'Page: not a page number; showing the first page.'],
      ['provider=abc', 'provider', 'Primary provider: not one of the providers in the list.'],
      ['apptAfter=soon', 'apptAfter', 'Next appointment after: not a date (write it as MM/DD/YYYY).'],
      ['apptAfter=2026-13-01', 'apptAfter', 'Next appointment after: there is no such day as 2026-13-01.'],
      ['apptBefore=02/31/2026', 'apptBefore', 'Next appointment before: there is no such day as 02/31/2026.'],
      ['after=WzAsImEiXQ', 'after', 'Page link: out of date; showing the first page.'],
    ])('%s: the message is next to its filter, and the other filters still apply', async (query, field, message) => {
      const page = await agent.get(`/portal-onboarding?status=red&${query}`).expect(200);
      expect(page.text).toContain(`<li>${escapeHtml(message)}</li>`);
      expect(totalOf(page.text)).toBe(red().length);
      const fragment = await agent.get(`/portal-onboarding?status=red&${query}`).set('HX-Request', 'true').expect(200);
      expect(fragment.text).toContain(`<li>${escapeHtml(message)}</li>`);
      expect(totalOf(fragment.text)).toBe(red().length);
      // A filter's own message sits under it (the form), and htmx swaps it in out of band.
      if (!['sort', 'size', 'after', 'page'].includes(field)) {
        expect(page.text).toContain(
          `<span id="problem-${field}" class="field-error filter-problem">${escapeHtml(message)}</span>`,
        );
        expect(fragment.text).toContain(
          `<span id="problem-${field}" class="field-error filter-problem" hx-swap-oob="true">${escapeHtml(message)}</span>`,
        );
      }
    });

    it('ignores unknown parameters (an old bookmark, a tracking tag) without a word', async () => {
      const res = await agent.get('/portal-onboarding?status=red&isAdmin=1&utm_source=mail&page_old=3').expect(200);
      expect(totalOf(res.text)).toBe(red().length);
      expect(res.text).not.toContain('class="filter-notice"');
      expect(res.text).not.toContain('isAdmin');
    });

    it('still refuses prototype keys outright (before any parsing)', async () => {
      const res = await agent.get('/portal-onboarding?__proto__=x').expect(400);
      expect(res.text).toContain('The request contains a field name or nesting that is not allowed.');
      await agent.get('/portal-onboarding?status=red&constructor=x').expect(400);
      // Under the simple query parser a bracketed name is just an unknown name: ignored, nothing merged.
      await agent.get('/portal-onboarding?__proto__[isAdmin]=1').expect(200);
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });

    it("reads a typed date in the clinic format (MM/DD/YYYY) like the date picker's YYYY-MM-DD", async () => {
      const typed = await agent.get('/portal-onboarding?apptAfter=12/01/2026').set('HX-Request', 'true').expect(200);
      const picked = await agent.get('/portal-onboarding?apptAfter=2026-12-01').set('HX-Request', 'true').expect(200);
      expect(totalOf(typed.text)).toBe(totalOf(picked.text));
      expect(rowIds(typed.text)).toEqual(rowIds(picked.text));
    });

    it('says why nothing matches when "after" is not before "before"', async () => {
      const res = await agent.get('/portal-onboarding?apptAfter=2026-12-10&apptBefore=2026-12-01').expect(200);
      expect(totalOf(res.text)).toBe(0);
      expect(res.text).toContain(
        'No patient can match: the next appointment would have to be after 12/10/2026 and before 12/01/2026, and no day lies between them.',
      );
      const adjacent = await agent.get('/portal-onboarding?apptAfter=2026-12-01&apptBefore=2026-12-02').expect(200);
      expect(adjacent.text).toContain('no day lies between them');
      const fine = await agent.get('/portal-onboarding?apptAfter=2026-12-01&apptBefore=2026-12-03').expect(200);
      expect(fine.text).not.toContain('No patient can match');
    });

    it('keeps the bulk actions strict: a bad filter value in a bulk form is refused, nothing changes', async () => {
      const res = await agent
        .post('/portal-onboarding/bulk/enable')
        .set('HX-Request', 'true')
        .set('X-CSRF-Token', agent.csrf)
        .type('form')
        .send('scope=filter&apptAfter=2026-02-31')
        .expect(400);
      expect(res.text).toContain('apptAfter must be a date written as YYYY-MM-DD.');
    });

    it('matches LIKE wildcards in a search literally', async () => {
      const res = await agent.get('/portal-onboarding?q=50%25_').set('HX-Request', 'true').expect(200);
      expect(totalOf(res.text)).toBe(1);
      expect(res.text).toContain('50%_Off, Percy');
      const both = await agent.get('/portal-onboarding?q=50').set('HX-Request', 'true').expect(200);
      expect(totalOf(both.text)).toBe(2);
    });
  });

  it('renders a patient named <img src=x onerror=alert(1)> and {{7*7}} as text', async () => {
    const res = await agent.get('/portal-onboarding?q=%7B%7B7').expect(200);
    expect(res.text).toContain('{{7*7}}, &lt;img src=x onerror=alert(1)&gt;');
    expect(res.text).not.toContain('<img src=x');
    expect(res.text).not.toContain('>49<');
  });

  it('audits who viewed which filter', async () => {
    await agent.get('/portal-onboarding?status=orange').expect(200);
    const [row] = await t.dataSource.query(
      "SELECT actor_id, details FROM audit_events WHERE action = 'patients.list_viewed' ORDER BY id DESC LIMIT 1",
    );
    expect(Number(row.actor_id)).toBe(agent.user.id);
    expect(JSON.parse(row.details).filter).toMatchObject({ status: 'orange' });
  });

  it('sends a visitor who is not signed in to the sign-in page (htmx: 401 + HX-Redirect)', async () => {
    const page = await request(t.server).get('/portal-onboarding?status=red').expect(303);
    expect(page.headers.location).toMatch(/^\/login\?next=/);
    const fragment = await request(t.server).get('/portal-onboarding').set('HX-Request', 'true').expect(401);
    expect(fragment.headers['hx-redirect']).toMatch(/^\/login/);
    expect(fragment.text).not.toContain('patient-');
  });

  it("after a timeout, an htmx request sends sign-in back to the same filtered list (query kept, only this site's paths)", async () => {
    const fragment = await request(t.server)
      .get('/portal-onboarding?status=red')
      .set('HX-Request', 'true')
      .set('HX-Current-URL', 'http://127.0.0.1/portal-onboarding?status=red&access=no&size=25')
      .expect(401);
    expect(fragment.headers['hx-redirect']).toBe(
      `/login?next=${encodeURIComponent('/portal-onboarding?status=red&access=no&size=25')}`,
    );
    const login = await request(t.server).get(fragment.headers['hx-redirect']).expect(200);
    expect(login.text).toContain(
      '<input type="hidden" name="next" value="/portal-onboarding?status=red&amp;access=no&amp;size=25">',
    );
    // Another origin's URL keeps only its path, and a path that is really a host is refused by the sign-in page.
    const evil = await request(t.server)
      .get('/portal-onboarding')
      .set('HX-Request', 'true')
      .set('HX-Current-URL', 'https://evil.test//evil.test/x?y=1')
      .expect(401);
    const evilLogin = await request(t.server).get(evil.headers['hx-redirect']).expect(200);
    expect(evilLogin.text).not.toContain('name="next"');
  });

  it("serves one row for the row's own refresh while its email is queued", async () => {
    const orange = patients.find((p) => p.status === 'orange')!;
    const res = await agent
      .get(`/portal-onboarding/patients/${orange.id}/row`)
      .set('HX-Request', 'true')
      .set('X-Background-Poll', '1')
      .expect(200);
    expect(res.text.trim().startsWith(`<tr id="patient-${orange.id}"`)).toBe(true);
    await agent.get('/portal-onboarding/patients/99999999/row').set('HX-Request', 'true').expect(404);
  });

  it('uses the seed clock (sanity check of the fixture)', () => {
    expect(patients.some((p) => p.nextAppointmentAt && p.nextAppointmentAt > SEED_NOW)).toBe(true);
  });
});

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
