import request from 'supertest';
import { AuditService } from '../../../src/audit/audit.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { addPatient, linkOf, loadPatients, rowIds, seedPatients, totalOf } from './onboarding-fixtures';

type Agent = Awaited<ReturnType<typeof signInAs>>;

describe('onboarding actions (staff)', () => {
  let t: TestApp;
  let agent: Agent;

  beforeAll(async () => {
    t = await startTestApp();
    agent = await signInAs(t);
  });
  afterAll(async () => t.close());

  const account = async (id: number) =>
    (
      await t.dataSource.query(
        'SELECT access_enabled, invited_at, enabled_by_staff_id FROM portal_accounts WHERE patient_id = ?',
        [id],
      )
    )[0];
  const auditCount = async (action: string, patientId?: number) =>
    Number(
      (
        await t.dataSource.query(
          `SELECT COUNT(*) AS n FROM audit_events WHERE action = ?${patientId ? ' AND patient_id = ?' : ''}`,
          patientId ? [action, patientId] : [action],
        )
      )[0].n,
    );
  const outboxCount = async (patientId?: number) =>
    Number(
      (
        await t.dataSource.query(
          `SELECT COUNT(*) AS n FROM mail_outbox${patientId ? ' WHERE patient_id = ?' : ''}`,
          patientId ? [patientId] : [],
        )
      )[0].n,
    );
  const htmxPost = (url: string, body: Record<string, unknown> = {}) =>
    agent.post(url).set('HX-Request', 'true').set('X-CSRF-Token', agent.csrf).type('form').send(body);

  describe('the red block', () => {
    it('enables access with one htmx POST and answers with the row: gray, with "Send Invite to <email>" focused next', async () => {
      const id = await addPatient(t, { firstName: 'Jane', lastName: 'Doe', email: 'jane.doe@example.test' });
      const res = await htmxPost(`/portal-onboarding/patients/${id}/enable`).expect(200);
      expect(res.text.trim().startsWith(`<tr id="patient-${id}"`)).toBe(true);
      expect(res.text).toContain('<span class="status status-gray"');
      expect(res.text).toContain('Send Invite to jane.doe@example.test');
      expect(res.text).toContain('data-focus-after-swap');
      expect(res.text).not.toContain('<html');
      expect(await account(id)).toMatchObject({ access_enabled: expect.anything(), enabled_by_staff_id: agent.user.id });
      expect(Number((await account(id)).access_enabled)).toBe(1);
      expect(await auditCount('portal.access_enabled', id)).toBe(1);
    });

    it('is idempotent: enabling again changes nothing and writes no second audit row', async () => {
      const id = await addPatient(t, { status: 'gray' });
      await htmxPost(`/portal-onboarding/patients/${id}/enable`).expect(200);
      await htmxPost(`/portal-onboarding/patients/${id}/enable`).expect(200);
      expect(await auditCount('portal.access_enabled', id)).toBe(0);
    });

    it('answers a plain form POST (no htmx) with 303 to a full page holding the message and the row', async () => {
      const id = await addPatient(t, { firstName: 'Plain', lastName: 'Browser' });
      const posted = await agent
        .post(`/portal-onboarding/patients/${id}/enable`)
        .type('form')
        .send({ _csrf: agent.csrf, ids: String(id), status: 'red' })
        .expect(303);
      const res = await agent.get(posted.headers.location).expect(200);
      expect(res.text).toContain('<html');
      expect(res.text).toContain('Portal access enabled for Plain Browser.');
      expect(res.text).toContain(`<tr id="patient-${id}"`);
    });

    it('refuses an unknown or malformed patient id with a clear message', async () => {
      const missing = await htmxPost('/portal-onboarding/patients/99999999/enable').expect(404);
      expect(missing.text).toContain('No patient with id 99999999. Nothing was changed.');
      expect(missing.headers['hx-retarget']).toBe('#flash');
      const bad = await htmxPost('/portal-onboarding/patients/1abc/enable').expect(400);
      expect(bad.text).toContain('The patient id must be a whole number.');
    });

    it('refuses a POST without the CSRF token, and a visitor who is not signed in, changing nothing', async () => {
      const id = await addPatient(t, {});
      await agent.post(`/portal-onboarding/patients/${id}/enable`).set('HX-Request', 'true').expect(403);
      await agent.post(`/portal-onboarding/patients/${id}/enable`).type('form').send({ _csrf: 'forged' }).expect(403);
      const anonymous = request.agent(t.server);
      const res = await anonymous.post(`/portal-onboarding/patients/${id}/enable`).set('HX-Request', 'true');
      expect([401, 403]).toContain(res.status);
      expect(Number((await account(id)).access_enabled)).toBe(0);
      expect(await auditCount('portal.access_enabled', id)).toBe(0);
    });

    it('is a POST only: GET does not enable', async () => {
      const id = await addPatient(t, {});
      await agent.get(`/portal-onboarding/patients/${id}/enable`).expect(404);
      expect(Number((await account(id)).access_enabled)).toBe(0);
    });
  });

  describe('the "Send Invite to <email>" link', () => {
    it('queues the invite at once and answers with the orange row and its delivery state; a double click sends one email', async () => {
      const id = await addPatient(t, { firstName: 'Ivy', lastName: 'Invite', email: 'ivy@example.test', status: 'gray' });
      const [first, second] = await Promise.all([
        htmxPost(`/portal-onboarding/patients/${id}/invite`),
        htmxPost(`/portal-onboarding/patients/${id}/invite`),
      ]);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(first.text).toContain('<span class="status status-orange"');
      expect(first.text).toMatch(/Invite queued\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
      expect(first.text).toContain('Send Invite to ivy@example.test');
      // While queued the row refreshes itself in the background (not activity for the idle timeout).
      const poll = `hx-get="/portal-onboarding/patients/${id}/row" hx-trigger="every 3s" hx-target="closest tr" hx-swap="outerHTML" hx-headers='{"X-Background-Poll": "1"}'`;
      expect(first.text).toContain(poll);
      expect(await outboxCount(id)).toBe(1);

      await t.app.get(MailSenderService).drainOnce();
      const after = await agent.get(`/portal-onboarding?q=Invite`).set('HX-Request', 'true').expect(200);
      expect(after.text).toMatch(/Invite sent\s+\d{4}-/);
      const row = await agent
        .get(`/portal-onboarding/patients/${id}/row`)
        .set('HX-Request', 'true')
        .set('X-Background-Poll', '1')
        .expect(200);
      expect(row.text).toMatch(/Invite sent\s+\d{4}-/);
      expect(row.text).not.toContain('hx-trigger="every 3s"');
    });

    it('sends a password-reset email to a patient who already has a username', async () => {
      const id = await addPatient(t, { email: 'green@example.test', status: 'green' });
      const posted = await agent
        .post(`/portal-onboarding/patients/${id}/invite`)
        .type('form')
        .send({ _csrf: agent.csrf })
        .expect(303);
      const res = await agent.get(posted.headers.location).expect(200);
      expect(res.text).toContain('A password-reset email to green@example.test is on its way.');
      const [row] = await t.dataSource.query('SELECT kind FROM mail_outbox WHERE patient_id = ?', [id]);
      expect(row.kind).toBe('portal_reset');
    });

    it('refuses a patient without access or without an email, queueing nothing', async () => {
      const red = await addPatient(t, { firstName: 'Red', lastName: 'Patient', email: 'red@example.test' });
      const refusedRed = await htmxPost(`/portal-onboarding/patients/${red}/invite`).expect(409);
      expect(refusedRed.text).toContain('Portal access is not enabled for Red Patient. Enable it first; no email was sent.');
      const noEmail = await addPatient(t, { firstName: 'No', lastName: 'Email', email: null, status: 'gray' });
      const refusedNoEmail = await htmxPost(`/portal-onboarding/patients/${noEmail}/invite`).expect(409);
      expect(refusedNoEmail.text).toContain('No Email has no email on file; no email was sent.');
      expect(await outboxCount(red)).toBe(0);
      expect(await outboxCount(noEmail)).toBe(0);
      await htmxPost('/portal-onboarding/patients/99999999/invite').expect(404);
    });

    it('shows no invite link for red rows or rows without an email', async () => {
      await addPatient(t, { firstName: 'Linkless', lastName: 'Zed', email: 'linkless@example.test' });
      await addPatient(t, { firstName: 'Linkless', lastName: 'Zee', email: null, status: 'gray' });
      const res = await agent.get('/portal-onboarding?q=Linkless').set('HX-Request', 'true').expect(200);
      expect(rowIds(res.text)).toHaveLength(2);
      expect(res.text).not.toContain('Send Invite to');
    });

    it('renders a hostile patient name escaped in the row fragment', async () => {
      const id = await addPatient(t, {
        firstName: '<img src=x onerror=alert(1)>',
        lastName: '{{7*7}}',
        email: 'hostile@example.test',
      });
      const res = await htmxPost(`/portal-onboarding/patients/${id}/enable`).expect(200);
      expect(res.text).toContain('{{7*7}}, &lt;img src=x onerror=alert(1)&gt;');
      expect(res.text).not.toContain('<img');
    });
  });
});

describe('bulk actions (staff)', () => {
  let t: TestApp;
  let agent: Agent;
  beforeAll(async () => {
    t = await startTestApp();
    agent = await signInAs(t);
  });
  afterAll(async () => t.close());

  const htmxPost = (url: string, body: string) =>
    agent.post(url).set('HX-Request', 'true').set('X-CSRF-Token', agent.csrf).type('form').send(body);
  const enabledCount = async (ids: number[]) =>
    Number(
      (
        await t.dataSource.query(
          `SELECT COUNT(*) AS n FROM portal_accounts WHERE access_enabled = 1 AND patient_id IN (${ids.join(',')})`,
        )
      )[0].n,
    );

  it('enables the checked patients in one step, one audit row per changed patient sharing a batch id', async () => {
    const ids = [await addPatient(t, {}), await addPatient(t, {}), await addPatient(t, { status: 'gray' })];
    const res = await htmxPost('/portal-onboarding/bulk/enable', ids.map((id) => `ids=${id}`).join('&')).expect(200);
    expect(res.text).toContain('Portal access enabled for 2 patients; 1 already had access and were left unchanged.');
    // The results reload after the swap, so it sees the kept selection: the same three stay selected for Send Portal Invites.
    expect(res.headers['hx-trigger-after-swap']).toBe('onboarding-changed');
    for (const id of ids) expect(res.text).toContain(`<input type="hidden" name="ids" value="${id}">`);
    expect(res.text).toContain('The same 3 patients stay selected for Send Portal Invites.');
    expect(await enabledCount(ids)).toBe(3);
    const audit: { patient_id: number; batch_id: string }[] = await t.dataSource.query(
      `SELECT patient_id, batch_id FROM audit_events WHERE action = 'portal.access_enabled' AND patient_id IN (${ids.join(',')})`,
    );
    expect(audit.map((a) => Number(a.patient_id)).sort()).toEqual(ids.slice(0, 2).sort());
    expect(new Set(audit.map((a) => a.batch_id)).size).toBe(1);
    expect(audit[0].batch_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps "all matching" as it was before Enable: Send Portal Invites still covers the enabled patients, and only for who enabled them', async () => {
    const ids = [
      await addPatient(t, { lastName: 'Keptscope' }),
      await addPatient(t, { lastName: 'Keptscope' }),
      await addPatient(t, { lastName: 'Keptscope', email: null }),
    ];
    const enabled = await htmxPost('/portal-onboarding/bulk/enable', 'scope=filter&q=Keptscope&access=no').expect(200);
    const batch = /name="enabledBatch" value="([0-9a-f-]{36})"/.exec(enabled.text)![1];
    expect(enabled.text).toContain('<input type="hidden" name="scope" value="filter">');
    expect(enabled.text).toContain('The same 3 patients stay selected for Send Portal Invites.');
    // The results reload with the kept selection: "all matching" stays ticked, counted as before.
    const reload = await agent
      .get(`/portal-onboarding?q=Keptscope&access=no&scope=filter&enabledBatch=${batch}`)
      .set('HX-Request', 'true')
      .expect(200);
    expect(totalOf(reload.text)).toBe(0);
    expect(reload.text).toContain('id="select-matching" checked');
    expect(reload.text).toContain('All 3 patients that matched this filter before access was enabled');
    expect(reload.text).toContain(`<input type="hidden" name="enabledBatch" value="${batch}">`);
    const preview = await htmxPost(
      '/portal-onboarding/bulk/invite/preview',
      `scope=filter&q=Keptscope&access=no&enabledBatch=${batch}`,
    ).expect(200);
    expect(preview.text).toContain('2 invites will be sent; 1 skipped: no email on file.');
    // Without the kept batch the filter alone matches nobody any more.
    expect(
      (await htmxPost('/portal-onboarding/bulk/invite/preview', 'scope=filter&q=Keptscope&access=no').expect(400)).text,
    ).toContain('No patients match this filter');
    // Another staff member's batch id adds nobody to their selection.
    const other = await signInAs(t);
    const theirs = await other
      .post('/portal-onboarding/bulk/invite/preview')
      .set('HX-Request', 'true')
      .set('X-CSRF-Token', other.csrf)
      .type('form')
      .send(`scope=filter&q=Keptscope&access=no&enabledBatch=${batch}`)
      .expect(400);
    expect(theirs.text).toContain('No patients match this filter');
    expect(ids).toHaveLength(3);
    // A kept batch id that is not one is refused.
    expect(
      (await htmxPost('/portal-onboarding/bulk/invite/preview', 'scope=filter&q=Keptscope&enabledBatch=1%20OR%201').expect(400))
        .text,
    ).toContain('The kept selection is not valid');
  });

  it('refuses the whole selection when one id is unknown, changing nothing', async () => {
    const id = await addPatient(t, {});
    const res = await htmxPost('/portal-onboarding/bulk/enable', `ids=${id}&ids=99999999`).expect(404);
    expect(res.text).toContain('No patient with id 99999999. Nothing was changed.');
    expect(await enabledCount([id])).toBe(0);
  });

  it('asks for a selection, caps explicit ids at 500 and refuses tampered filters and CSRF-less posts', async () => {
    const enabledBefore = Number(
      (await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_accounts WHERE access_enabled = 1'))[0].n,
    );
    const none = await htmxPost('/portal-onboarding/bulk/enable', '').expect(400);
    expect(none.text).toContain('Select at least one patient');
    // Bulk buttons ask for their errors next to themselves; anything but an id of ours falls back to the top of the page.
    const nextToButtons = await htmxPost('/portal-onboarding/bulk/enable', '').set('X-Error-Target', '#bulk-area').expect(400);
    expect(nextToButtons.headers['hx-retarget']).toBe('#bulk-area');
    const odd = await htmxPost('/portal-onboarding/bulk/enable', '').set('X-Error-Target', 'body > *').expect(400);
    expect(odd.headers['hx-retarget']).toBe('#flash');
    const many = Array.from({ length: 501 }, (_, i) => `ids=${i + 1}`).join('&');
    expect((await htmxPost('/portal-onboarding/bulk/enable', many).expect(400)).text).toContain('Select at most 500 patients');
    expect((await htmxPost('/portal-onboarding/bulk/enable', 'scope=filter&status=purple').expect(400)).text).toContain(
      'Status must be one of',
    );
    expect((await htmxPost('/portal-onboarding/bulk/enable', 'scope=everything').expect(400)).text).toContain(
      'Selection must be one of: ids, filter.',
    );
    expect((await htmxPost('/portal-onboarding/bulk/invite/preview', 'scope=filter&provider=424242').expect(400)).text).toContain(
      'The chosen primary provider does not exist.',
    );
    await agent.post('/portal-onboarding/bulk/enable').type('form').send('scope=filter').expect(403);
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_accounts WHERE access_enabled = 1'))[0].n)).toBe(
      enabledBefore,
    );
  });

  it('previews a bulk invite with its skips, sends it after confirmation and reports progress until delivered', async () => {
    const ready = [];
    for (let i = 0; i < 4; i++)
      ready.push(await addPatient(t, { lastName: 'Bulkinvite', email: `bulk${i}@example.test`, status: 'gray' }));
    const withUsername = await addPatient(t, { lastName: 'Bulkinvite', email: 'named@example.test', status: 'green' });
    const noEmail = [
      await addPatient(t, { lastName: 'Bulkinvite', email: null, status: 'gray' }),
      await addPatient(t, { lastName: 'Bulkinvite', email: null, status: 'gray' }),
    ];
    const notEnabled = [
      await addPatient(t, { lastName: 'Bulkinvite' }),
      await addPatient(t, { lastName: 'Bulkinvite' }),
      await addPatient(t, { lastName: 'Bulkinvite' }),
    ];
    const all = [...ready, withUsername, ...noEmail, ...notEnabled];

    const preview = await htmxPost('/portal-onboarding/bulk/invite/preview', all.map((id) => `ids=${id}`).join('&')).expect(200);
    expect(preview.text).toContain(
      '5 invites will be sent (1 as password-reset email: already has a username); 2 skipped: no email on file; 3 skipped: access not enabled.',
    );
    expect(preview.text).toContain('Send 5 emails');
    for (const id of all) expect(preview.text).toContain(`name="ids" value="${id}"`);
    const outboxBefore = Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox'))[0].n);
    expect(outboxBefore).toBe(0);

    const sent = await htmxPost('/portal-onboarding/bulk/invite', all.map((id) => `ids=${id}`).join('&')).expect(200);
    const batchId = /hx-get="\/portal-onboarding\/bulk\/batches\/([0-9a-f-]{36})"/.exec(sent.text)![1];
    expect(sent.text).toContain('hx-trigger="every 2s"');
    expect(sent.text).toContain(`hx-headers='{"X-Background-Poll": "1"}'`);
    expect(sent.text).toContain('0 of 5 sent, 5 waiting.');
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE batch_id = ?', [batchId]))[0].n)).toBe(
      5,
    );

    await t.app.get(MailSenderService).drainOnce();
    const done = await agent
      .get(`/portal-onboarding/bulk/batches/${batchId}`)
      .set('HX-Request', 'true')
      .set('X-Background-Poll', '1')
      .expect(200);
    expect(done.text).toContain('5 of 5 sent.');
    expect(done.text).toContain('Done.');
    expect(done.text).not.toContain('every 2s');
    expect(done.headers['hx-trigger']).toBe('onboarding-changed');
    await agent.get('/portal-onboarding/bulk/batches/not-a-uuid').set('HX-Request', 'true').expect(400);
  });

  it('sends to every patient matching a filter when "Select all N matching" is chosen', async () => {
    const tag = (await t.dataSource.query("SELECT id FROM tags WHERE name = 'Filtertag'"))[0] ?? null;
    if (!tag) await t.dataSource.query("INSERT INTO tags (name, created_at) VALUES ('Filtertag', '2026-01-01 00:00:00')");
    const [{ id: tagId }] = await t.dataSource.query("SELECT id FROM tags WHERE name = 'Filtertag'");
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await addPatient(t, { email: `filter${i}@example.test`, status: 'gray' }));
    for (const id of ids) await t.dataSource.query('INSERT INTO patient_tags (patient_id, tag_id) VALUES (?, ?)', [id, tagId]);
    const preview = await htmxPost('/portal-onboarding/bulk/invite/preview', `scope=filter&tag=${tagId}&ids=1`).expect(200);
    expect(preview.text).toContain('3 invites will be sent.');
    expect(preview.text).toContain('name="scope" value="filter"');
    expect(preview.text).toContain(`name="tag" value="${tagId}"`);
    await htmxPost('/portal-onboarding/bulk/invite', `scope=filter&tag=${tagId}`).expect(200);
    expect(
      Number((await t.dataSource.query(`SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id IN (${ids.join(',')})`))[0].n),
    ).toBe(3);
  });

  // Without JavaScript (issue 13, defect 5): every POST answers 303 to a GET page, so Back and Reload never re-post.
  const plainPost = (url: string, body: string) =>
    agent
      .post(url)
      .type('form')
      .send(`_csrf=${agent.csrf}${body ? `&${body}` : ''}`);

  it('bulk Enable without htmx: 303 to the same filtered list with the patients still selected, the message shown once', async () => {
    const ids = [await addPatient(t, { lastName: 'Plainbulk' }), await addPatient(t, { lastName: 'Plainbulk' })];
    const posted = await plainPost('/portal-onboarding/bulk/enable', `q=Plainbulk&${ids.map((id) => `ids=${id}`).join('&')}`);
    expect(posted.status).toBe(303);
    const location = new URL(posted.headers.location, 'http://x');
    expect(location.pathname).toBe('/portal-onboarding');
    expect(location.searchParams.get('q')).toBe('Plainbulk');
    expect(location.searchParams.getAll('ids')).toEqual(ids.map(String));
    expect(await enabledCount(ids)).toBe(2);
    const page = await agent.get(posted.headers.location).expect(200);
    expect(page.text).toContain('<html');
    expect(page.text).toContain(
      'Portal access enabled for 2 patients. The same 2 patients stay selected for Send Portal Invites.',
    );
    for (const id of ids) expect(page.text).toMatch(new RegExp(`name="ids" value="${id}"[^>]*checked`));
    const reloaded = await agent.get(posted.headers.location).expect(200);
    expect(reloaded.text).not.toContain('Portal access enabled for 2 patients.');
  });

  it('Send Portal Invites without htmx: the question on a GET page, the send 303 to the batch progress page', async () => {
    const ids = [
      await addPatient(t, { lastName: 'Plaininvite', email: 'plain0@example.test', status: 'gray' }),
      await addPatient(t, { lastName: 'Plaininvite', email: 'plain1@example.test', status: 'gray' }),
    ];
    const selected = ids.map((id) => `ids=${id}`).join('&');
    const asked = await plainPost('/portal-onboarding/bulk/invite/preview', selected);
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toBe(`/portal-onboarding/bulk/invite/preview?${selected}`);
    const question = await agent.get(asked.headers.location).expect(200);
    expect(question.text).toContain('<html');
    expect(question.text).toContain('2 invites will be sent.');
    for (const id of ids) expect(question.text).toContain(`name="ids" value="${id}"`);
    expect(
      Number((await t.dataSource.query(`SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id IN (${ids.join(',')})`))[0].n),
    ).toBe(0);

    const sent = await plainPost('/portal-onboarding/bulk/invite', selected);
    expect(sent.status).toBe(303);
    const batchId = /^\/portal-onboarding\/bulk\/batches\/([0-9a-f-]{36})$/.exec(sent.headers.location)![1];
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE batch_id = ?', [batchId]))[0].n)).toBe(
      2,
    );
    const progress = await agent.get(sent.headers.location).expect(200);
    expect(progress.text).toContain('<html');
    expect(progress.text).toContain('2 invites were queued for sending.');
    expect(progress.text).toContain('0 of 2 sent, 2 waiting.');
    expect((await agent.get(sent.headers.location).expect(200)).text).not.toContain('2 invites were queued for sending.');
  });

  it('Print activation letters without htmx: the preview on a GET page that a reload asks again, nothing printed yet', async () => {
    const ids = [
      await addPatient(t, { lastName: 'Plainletter', email: 'plainletter0@example.test', status: 'gray' }),
      await addPatient(t, { lastName: 'Plainletter', email: 'plainletter1@example.test', status: 'gray' }),
    ];
    const selected = ids.map((id) => `ids=${id}`).join('&');
    const tokens = async () =>
      Number((await t.dataSource.query(`SELECT COUNT(*) AS n FROM portal_tokens WHERE patient_id IN (${ids.join(',')})`))[0].n);
    const asked = await plainPost('/portal-onboarding/letters/preview', selected);
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toBe(`/portal-onboarding/letters/preview?${selected}`);
    for (let load = 0; load < 2; load += 1) {
      const question = await agent.get(asked.headers.location).expect(200);
      expect(question.text).toContain('<html');
      expect(question.text).toContain('Print activation letters?');
      // These two have no postal address: the page says so (the same plan as the htmx answer).
      expect(question.text).toMatch(/data-testid="letters-summary">[^<]*2 skipped: no postal address/);
    }
    expect(await tokens()).toBe(0);
  });

  it('a bulk send without htmx that queues nothing still lands on a page that says why', async () => {
    const id = await addPatient(t, { lastName: 'Plainnothing' });
    const sent = await plainPost('/portal-onboarding/bulk/invite', `ids=${id}`);
    expect(sent.status).toBe(303);
    expect((await agent.get(sent.headers.location).expect(200)).text).toContain('1 skipped: access not enabled');
  });

  it("a row action without htmx: 303 to the row's page, whose table has the list's column heads and shows the message once", async () => {
    const id = await addPatient(t, { firstName: 'Rowan', lastName: 'Plainrow', email: 'rowan.plain@example.test' });
    const heads = (html: string) =>
      [...html.matchAll(/<th scope="col"[^>]*>([\s\S]*?)<\/th>/g)].map((m) => m[1].replace(/<[^>]+>|▲/g, '').trim());
    const list = heads((await agent.get('/portal-onboarding').expect(200)).text);
    const enabled = await plainPost(`/portal-onboarding/patients/${id}/enable`, '');
    expect(enabled.status).toBe(303);
    expect(enabled.headers.location).toBe(`/portal-onboarding/patients/${id}/row`);
    expect(await enabledCount([id])).toBe(1);
    const res = await agent.get(enabled.headers.location).expect(200);
    expect(res.text).toContain('<html');
    expect(res.text).toContain('Portal access enabled for Rowan Plainrow.');
    expect(res.text).toContain('Send Invite to rowan.plain@example.test');
    expect(list).toEqual([
      '',
      'Status',
      'Name',
      'MRN',
      'Date of birth',
      'Email',
      'Username',
      'Primary provider',
      'Next appointment',
      'Action',
    ]);
    expect(heads(res.text)).toEqual(list);
    expect((await agent.get(enabled.headers.location).expect(200)).text).not.toContain('Portal access enabled for');

    const invited = await plainPost(`/portal-onboarding/patients/${id}/invite`, '');
    expect(invited.status).toBe(303);
    expect(invited.headers.location).toBe(`/portal-onboarding/patients/${id}/row`);
    expect((await agent.get(invited.headers.location).expect(200)).text).toContain(
      'An invite to rowan.plain@example.test is on its way.',
    );
  });
});

describe('bulk enable of 5,000 patients', () => {
  let t: TestApp;
  let agent: Agent;
  beforeAll(async () => {
    t = await startTestApp();
    agent = await signInAs(t);
    await seedPatients(t, 9000, 5);
  });
  afterAll(async () => t.close());

  const redCount = async () =>
    Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_accounts WHERE access_enabled = 0'))[0].n);
  const auditRows = async () =>
    Number((await t.dataSource.query("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'portal.access_enabled'"))[0].n);

  it('pages a large filter result in order (the plan MariaDB pins for thousands of matches)', async () => {
    const expected: { id: number }[] = await t.dataSource.query(
      'SELECT p.id FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE pa.access_enabled = 0 ORDER BY p.last_name, p.first_name, p.id LIMIT 300',
    );
    const shown: number[] = [];
    let url: string | null = '/portal-onboarding?status=red&size=100';
    while (url && shown.length < 300) {
      const res = await agent.get(url).set('HX-Request', 'true').expect(200);
      shown.push(...rowIds(res.text));
      url = linkOf(res.text, 'next');
    }
    expect(shown).toEqual(expected.map((r) => Number(r.id)));
    const byDob = await agent
      .get('/portal-onboarding?access=no&username=no&sort=dob&size=25')
      .set('HX-Request', 'true')
      .expect(200);
    const dobExpected: { id: number }[] = await t.dataSource.query(
      'SELECT p.id FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE pa.access_enabled = 0 AND pa.username IS NULL ORDER BY p.date_of_birth, p.id LIMIT 25',
    );
    expect(rowIds(byDob.text)).toEqual(dobExpected.map((r) => Number(r.id)));
  });

  it('rolls everything back when the audit insert fails midway (0 changes, 500 without details)', async () => {
    const red = await redCount();
    expect(red).toBeGreaterThanOrEqual(5000);
    const audit = t.app.get(AuditService);
    const original = audit.recordMany.bind(audit);
    const spy = jest.spyOn(audit, 'recordMany').mockImplementation(async (context, entries, manager) => {
      if (!entries.some((e) => e.action === 'portal.access_enabled')) return original(context, entries, manager);
      await original(context, entries.slice(0, Math.floor(entries.length / 2)), manager);
      throw new Error('audit storage failed');
    });
    try {
      const res = await agent
        .post('/portal-onboarding/bulk/enable')
        .set('HX-Request', 'true')
        .set('X-CSRF-Token', agent.csrf)
        .type('form')
        .send('scope=filter&status=red')
        .expect(500);
      expect(res.text).toContain('Nothing was changed.');
      expect(res.text).not.toMatch(/audit storage failed|at .*\.ts:\d+|UPDATE/);
    } finally {
      spy.mockRestore();
    }
    expect(await redCount()).toBe(red);
    expect(await auditRows()).toBe(0);
  });

  it('enables every red patient of a filter in one transaction with one audit row each', async () => {
    const red = await redCount();
    const started = Date.now();
    const res = await agent
      .post('/portal-onboarding/bulk/enable')
      .set('HX-Request', 'true')
      .set('X-CSRF-Token', agent.csrf)
      .type('form')
      .send('scope=filter&status=red')
      .expect(200);
    const elapsed = Date.now() - started;
    expect(res.text).toContain(`Portal access enabled for ${red} patients.`);
    expect(await redCount()).toBe(0);
    expect(await auditRows()).toBe(red);
    const batches = await t.dataSource.query(
      "SELECT COUNT(DISTINCT batch_id) AS n FROM audit_events WHERE action = 'portal.access_enabled'",
    );
    expect(Number(batches[0].n)).toBe(1);
    expect(elapsed).toBeLessThan(15_000);
    const models = await loadPatients(t);
    expect(models.every((p) => p.accessEnabled)).toBe(true);
  });
});
