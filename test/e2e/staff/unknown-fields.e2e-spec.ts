import { createPortalPatient } from '../../support/portal-patients';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

describe('a query parameter or form field a page does not have', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    t = await startTestApp({ REMINDER_INTERVAL_SECONDS: '0' });
    admin = await signInAs(t, 'admin');
  });
  afterAll(() => t?.close());

  it('a filter page refuses an unknown setting by name, in plain words, not as a validator internal', async () => {
    const page = await admin.get('/portal-onboarding/worklist?view=invited_7d&colour=red').expect(400);
    expect(page.text).toContain('This page has no setting called “colour”.');
    expect(page.text).not.toContain('should not exist');
    const report = await admin.get('/reports/activation?by=tag&zoom=2').set('Accept', 'application/json').expect(400);
    expect(report.body.message).toBe('This page has no setting called “zoom”.');
  });

  it('a form refuses an unknown field by name and changes nothing', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Unknown', lastName: 'Fieldtest' });
    const [before] = await t.dataSource.query('SELECT first_name, deceased, version FROM patients WHERE id = ?', [patient.id]);
    const refused = await admin
      .post(`/patients/${patient.id}/details`)
      .type('form')
      .send({
        _csrf: admin.csrf,
        firstName: 'Changed',
        lastName: 'Fieldtest',
        dateOfBirth: '1980-04-12',
        primaryProviderId: '',
        version: String(before.version),
        deceased: '1',
      })
      .expect(400);
    expect(refused.text).toContain('This form has no field called “deceased”. Nothing was changed.');
    expect(refused.text).not.toContain('should not exist');
    const [after] = await t.dataSource.query('SELECT first_name, deceased, version FROM patients WHERE id = ?', [patient.id]);
    expect(after).toEqual(before);

    const policy = await admin
      .post('/admin/reminders')
      .type('form')
      .send({
        _csrf: admin.csrf,
        enabled: 'yes',
        daysAfterInvite: '3',
        daysBeforeAppointment: '0',
        maxPerPatient: '1',
        allowedFromHour: '0',
        allowedUntilHour: '24',
        bypassQuietHours: 'yes',
      })
      .expect(400);
    expect(policy.text).toContain('This form has no field called “bypassQuietHours”. Nothing was changed.');
    expect((await admin.get('/admin/reminders').expect(200)).text).toContain(
      'data-testid="reminder-state"><strong>Off:</strong>',
    );
  });
});
