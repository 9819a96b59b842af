import { OnboardingListRepository } from '../../../src/portal-access/onboarding-list.repository';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { addPatient, seedPatients, totalOf } from './onboarding-fixtures';

type Agent = Awaited<ReturnType<typeof signInAs>>;

/**
 * The pager count is kept per filter until the list's generation moves (triggers bump it in the
 * writing transaction): the same number as a fresh count after every committed change, the
 * viewer's own included, and no recount while nothing changed.
 */
describe('the onboarding count cache', () => {
  let t: TestApp;
  let agent: Agent;
  let counted: jest.SpyInstance;

  beforeAll(async () => {
    t = await startTestApp();
    agent = await signInAs(t);
    await seedPatients(t, 40);
    counted = jest.spyOn(t.app.get(OnboardingListRepository), 'count');
  });
  afterAll(async () => t.close());

  const shown = async (query: string) => totalOf((await agent.get(`/portal-onboarding${query}`).expect(200)).text);
  const fresh = async (sql: string, params: unknown[] = []) => Number((await t.dataSource.query(sql, params))[0].n);
  const generation = async () =>
    Number((await t.dataSource.query('SELECT generation FROM onboarding_list_generation WHERE id = 1'))[0].generation);
  const redCount = () => fresh('SELECT COUNT(*) AS n FROM portal_accounts WHERE access_enabled = 0');
  const htmxPost = (url: string) =>
    agent.post(url).set('HX-Request', 'true').set('X-CSRF-Token', agent.csrf).type('form').send({});

  it('counts once per filter while nothing changes', async () => {
    const before = counted.mock.calls.length;
    const first = await shown('?status=red');
    const second = await shown('?status=red');
    expect(first).toBe(await redCount());
    expect(second).toBe(first);
    expect(counted.mock.calls.length - before).toBe(1);
  });

  it("is never stale after the viewer's own action (enable one patient)", async () => {
    const before = await shown('?status=red');
    const id = await addPatient(t, { firstName: 'Cache', lastName: 'Probe', email: 'cache.probe@example.test' });
    expect(await shown('?status=red')).toBe(before + 1);
    await htmxPost(`/portal-onboarding/patients/${id}/enable`).expect(200);
    expect(await shown('?status=red')).toBe(before);
    expect(await shown('?status=red')).toBe(await redCount());
  });

  it('sees a change committed by any writer (another instance, the import, SQL) through the database', async () => {
    const [{ id: tagId }] = await t.dataSource.query('SELECT id FROM tags ORDER BY id LIMIT 1');
    const tagged = () => fresh('SELECT COUNT(*) AS n FROM patient_tags WHERE tag_id = ?', [tagId]);
    expect(await shown(`?tag=${tagId}`)).toBe(await tagged());
    const [{ id: untagged }] = await t.dataSource.query(
      'SELECT id FROM patients WHERE id NOT IN (SELECT patient_id FROM patient_tags WHERE tag_id = ?) ORDER BY id LIMIT 1',
      [tagId],
    );
    await t.dataSource.query('INSERT INTO patient_tags (patient_id, tag_id) VALUES (?, ?)', [untagged, tagId]);
    expect(await shown(`?tag=${tagId}`)).toBe(await tagged());

    const [{ patient_id: enabled }] = await t.dataSource.query(
      'SELECT patient_id FROM portal_accounts WHERE access_enabled = 1 ORDER BY patient_id LIMIT 1',
    );
    const redBefore = await shown('?status=red');
    await t.dataSource.query('UPDATE portal_accounts SET access_enabled = 0 WHERE patient_id = ?', [enabled]);
    expect(await shown('?status=red')).toBe(redBefore + 1);

    const nameBefore = await shown('?q=Zyxw');
    await t.dataSource.query("UPDATE patients SET last_name = 'Zyxwvut' WHERE id = ?", [untagged]);
    expect(await shown('?q=Zyxw')).toBe(nameBefore + 1);
  });

  it('moves the generation only when a column the filters read changes', async () => {
    const [{ patient_id: id }] = await t.dataSource.query('SELECT patient_id FROM portal_accounts ORDER BY patient_id LIMIT 1');
    const start = await generation();
    await t.dataSource.query('UPDATE portal_accounts SET failed_login_count = failed_login_count + 1 WHERE patient_id = ?', [id]);
    expect(await generation()).toBe(start);
    await t.dataSource.query("UPDATE portal_accounts SET username = 'cache-probe-user' WHERE patient_id = ?", [id]);
    expect(await generation()).toBeGreaterThan(start);
  });
});
