import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

describe('the demo data (SEED_DEMO) for representatives, minors and shared addresses', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SEED_DEMO: 'true' });
  });
  afterAll(async () => t.close());

  it('has a 10-year-old with a guardian, a family sharing one address that bulk invites skip, and other representatives', async () => {
    const [child] = await t.dataSource.query(
      `SELECT p.id, pr.relationship FROM patients p JOIN patient_representatives pr ON pr.patient_id = p.id
        WHERE p.first_name = 'Milo' AND p.last_name = 'Ferreira'`,
    );
    expect(child.relationship).toBe('parent_or_guardian');
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM patient_representatives'))[0].n)).toBeGreaterThanOrEqual(
      3,
    );
    const staff = await signInAs(t);
    const family = await staff.get('/portal-onboarding?q=Okonkwo').expect(200);
    expect(family.text.match(/Email shared with 2 other patients/g)).toHaveLength(3);
    const preview = await staff
      .post('/portal-onboarding/bulk/invite/preview')
      .set('HX-Request', 'true')
      .set('X-CSRF-Token', staff.csrf)
      .type('form')
      .send('scope=filter&q=Okonkwo')
      .expect(200);
    expect(preview.text).toContain('0 invites will be sent; 3 skipped: email shared with another patient');
    const minor = await staff.get('/portal-onboarding?q=Ferreira').expect(200);
    expect(minor.text).toContain('1 representative');
    expect(minor.text).toContain('Age 10: guardian access only');
  });
});
