import type { AuditRow } from '../../src/audit/audit-query.service';
import { describePatientEvent, describeViews } from '../../src/audit/patient-activity';

const event = (action: string, details: Record<string, unknown> | null = null, extra: Partial<AuditRow> = {}): AuditRow => ({
  id: '1',
  occurredAt: new Date('2026-12-01T10:00:00Z'),
  actorType: 'staff',
  actorId: 4,
  actorLabel: 'sam@clinic.test',
  staffName: 'Sam Staff',
  action,
  outcome: 'success',
  patientId: 9,
  patientName: null,
  batchId: null,
  ip: null,
  details,
  ...extra,
});

describe('a patient’s audit events in words', () => {
  it.each<[AuditRow, string]>([
    [event('portal.access_enabled'), 'Portal access enabled by Sam Staff.'],
    [event('portal.reset_issued', { emailQueued: true }), 'Password-reset email sent by Sam Staff.'],
    [
      event('portal.invite_issued', { emailQueued: false, repeatedWithin: '10s' }),
      'Invite asked for again by Sam Staff within seconds: no second email.',
    ],
    [
      event('portal.invite_skipped', { reason: 'no_email' }, { outcome: 'denied' }),
      'No invite sent (asked by Sam Staff): no email on file.',
    ],
    [
      event('mail.sent', { kind: 'invite' }, { actorType: 'system', staffName: null, actorLabel: null, actorId: null }),
      'The invite email was delivered to the mail server.',
    ],
    [
      event('mail.failed', { kind: 'reset', reason: '550 mailbox unavailable' }, { actorType: 'system', outcome: 'failure' }),
      'The password-reset email could not be delivered: 550 mailbox unavailable.',
    ],
    [
      event('portal.token_used', { purpose: 'invite' }, { actorType: 'patient' }),
      'The patient used the invite link and chose a username and password.',
    ],
    [
      event('portal.token_failed', { purpose: 'reset', reason: 'expired' }, { actorType: 'patient', outcome: 'failure' }),
      'A password-reset link was refused (the link had expired).',
    ],
    [event('patient.sign_out', null, { actorType: 'patient' }), 'Signed out of the portal.'],
    [
      event('patient.locked_out', { minutes: 15 }, { actorType: 'patient', outcome: 'denied' }),
      'Portal sign-in locked for 15 minutes after repeated failures.',
    ],
    [event('portal.account_unlocked'), 'Portal sign-in unlocked by Sam Staff.'],
    [
      event('portal.username_changed', { from: 'robin', to: 'robin.q', patientNotified: true }),
      'Username changed from “robin” to “robin.q” by Sam Staff; the patient was told by email.',
    ],
    [event('patient.details_changed', { changed: ['firstName', 'phone'] }), 'Details changed by Sam Staff: first name, phone.'],
    [
      event('patient.imported', { change: 'updated' }, { actorType: 'import', staffName: null, actorLabel: 'cli:import (ops)' }),
      'Record updated by an import (cli:import (ops)).',
    ],
  ])('%#: %s', (row, text) => {
    expect(describePatientEvent(row)).toBe(text);
  });

  it('folds views into one line, or none when the record was never opened', () => {
    expect(describeViews({ count: 14, lastAt: new Date(), lastBy: 'Sam Staff' })).toBe(
      'Record viewed 14 times by staff, last by Sam Staff',
    );
    expect(describeViews({ count: 0, lastAt: null, lastBy: null })).toBeNull();
  });
});
