import { OnboardingQueryService } from '../../../src/portal-access/onboarding-query.service';
import { createPortalPatient } from '../../support/portal-patients';
import { startTestApp, TestApp } from '../../support/test-app';

/** The export's read (walk) and the page are one keyset walk: same rows, same order, whatever the batch size. */
describe('the onboarding list read API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    // Ties on purpose (same last name, same birth dates) so the id tiebreak decides across batch edges.
    for (let i = 0; i < 23; i++)
      await createPortalPatient(t, {
        lastName: `Walkington${i % 4}`,
        firstName: i % 3 ? 'Ada' : 'Bo',
        dateOfBirth: `19${70 + (i % 5)}-01-0${1 + (i % 2)}`,
      });
  });
  afterAll(async () => t.close());

  const audit = { actorType: 'system' as const, actorId: null, actorLabel: 'test', ip: null, userAgent: null };

  it.each(['name', 'dob', 'next'] as const)('sort %s: walk in batches of 5 equals one page of 100', async (sort) => {
    const query = t.app.get(OnboardingQueryService);
    const filter = { q: 'Walkington' };
    const page = await query.page({ filter, sort, size: 100 }, audit);
    const walked: number[] = [];
    for await (const rows of query.walk(filter, sort, 5)) walked.push(...rows.map((row) => row.id));
    expect(page.total).toBe(23);
    expect(walked).toEqual(page.rows.map((row) => row.id));
  });
});
