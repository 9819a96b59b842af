import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRow } from '../../src/audit/audit-query.service';
import {
  describeForAccountHolder,
  describePatientEvent,
  describeViews,
  REPRESENTATIVE_HISTORY_ACTIONS,
} from '../../src/audit/patient-activity';
import { message } from '../../src/i18n/messages';

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

  it.each<[AuditRow, string]>([
    [
      event('portal.activation_code_shown', { photoIdCheckedBy: 'sam@clinic.test' }),
      'In-clinic activation code shown by Sam Staff, who checked the patient’s photo ID.',
    ],
    [
      event('portal.activation_code_shown', {
        photoIdCheckedBy: 'sam@clinic.test',
        representativeAccountId: 3,
        fullName: 'Dana Roe',
      }),
      'In-clinic activation code shown by Sam Staff, who checked the representative’s photo ID (for Dana Roe, their representative).',
    ],
    [
      event('portal.letter_printed', { expiresAt: '2026-12-31T10:00:00.000Z' }, { batchId: 'b' }),
      'Activation letter printed by Sam Staff (its link works until 2026-12-31).',
    ],
    [
      event('portal.letter_skipped', { reason: 'under_self_access_age' }, { outcome: 'denied' }),
      'No activation letter printed (asked by Sam Staff): under the self-access age.',
    ],
    [
      event('portal.token_used', { purpose: 'clinic', usernameChosen: true }, { actorType: 'patient' }),
      'The patient used the in-clinic activation code and chose a username and password.',
    ],
    [
      event('portal.token_used', { purpose: 'letter', usernameChosen: true }, { actorType: 'patient' }),
      'The patient used the activation letter and chose a username and password.',
    ],
    [
      event('portal.token_used', { purpose: 'invite', representativeAccountId: 2 }, { actorType: 'proxy' }),
      'Their representative used the invite link and chose a username and password.',
    ],
    [
      event('portal.identity_checked', { purpose: 'letter', failures: 2 }, { actorType: 'patient', outcome: 'failure' }),
      'Wrong answer to the identity questions (an activation letter’s link; 2 wrong answers so far).',
    ],
    [
      event('portal.identity_locked', { purpose: 'clinic' }, { actorType: 'patient', outcome: 'denied' }),
      'An in-clinic activation code was revoked after too many wrong answers to the identity questions.',
    ],
    [
      event('representative.added', {
        fullName: 'Dana Roe',
        relationship: 'parent_or_guardian',
        startsOn: '2026-12-01',
        endsOn: null,
      }),
      'Dana Roe added as an authorised representative (parent or legal guardian) by Sam Staff, from 2026-12-01.',
    ],
    [
      event('representative.updated', { fullName: 'Dana Roe', changed: ['endsOn', 'phone'], reason: 'new form' }),
      'Representative Dana Roe changed by Sam Staff: end date, phone — reason: “new form”.',
    ],
    [
      event('representative.revoked', { name: 'Dana Roe', reason: 'revoked', staffReason: 'asked by patient' }),
      'Representative Dana Roe revoked by Sam Staff — reason: “asked by patient”; their links and sessions for this patient ended.',
    ],
    [
      event('representative.ended', { name: 'Dana Roe', reason: 'age_of_majority' }, { actorType: 'system' }),
      'Representative Dana Roe’s access ended: the patient reached the age of majority.',
    ],
    [
      event(
        'patient.email_change_requested',
        { to: 'family@example.test', source: 'patient', reason: 'shared_email', sharedWith: 'Email shared with 1 other patient' },
        { actorType: 'patient', outcome: 'denied' },
      ),
      'The email address family@example.test was not accepted from the patient: the address is shared with someone else (shared with 1 other patient).',
    ],
    [
      event('representative.invite_issued', { sentTo: 'dana@example.test' }),
      'Invite sent to representative at dana@example.test by Sam Staff.',
    ],
  ])('codes, letters and representatives %#: %s', (row, text) => {
    expect(describePatientEvent(row)).toBe(text);
  });

  /** Every audit action the source records for a patient or a portal account holder. */
  function recordedActions(): string[] {
    const found = new Set<string>(['representative.invite_issued', 'representative.reset_issued']);
    // The second factor's actions are composed per kind of account (auditOf in portal-second-factor.service.ts).
    for (const what of [
      'second_factor_added',
      'second_factor_removed',
      'recovery_code_used',
      'recovery_codes_generated',
      'passkey_renamed',
    ])
      for (const kind of ['patient', 'representative']) found.add(`${kind}.${what}`);
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts'))
          for (const match of readFileSync(path, 'utf8').matchAll(/action: '((?:portal|patient|mail|representative)\.[a-z_]+)'/g))
            found.add(match[1]);
      }
    };
    walk(join(__dirname, '../../src'));
    // Folded into one "viewed N times" line (describeViews), not one line per view.
    found.delete('patient.viewed');
    return [...found].sort();
  }

  it('words every patient, portal and representative action the code records (none falls back to its raw name)', () => {
    const actions = recordedActions();
    expect(actions).toEqual(
      expect.arrayContaining(['portal.letter_printed', 'portal.activation_code_shown', 'representative.added']),
    );
    const raw = actions.filter(
      (action) => describePatientEvent(event(action, {})) === `${action.replace(/[._]/g, ' ')} (Sam Staff).`,
    );
    expect(raw).toEqual([]);
  });

  it('a representative’s own second-factor and passkey-name events read in their history as a patient’s do', () => {
    const proxy = { actorType: 'proxy' as const, patientId: null };
    expect(REPRESENTATIVE_HISTORY_ACTIONS).toEqual(
      expect.arrayContaining(['representative.second_factor_added', 'representative.passkey_renamed']),
    );
    expect(
      describeForAccountHolder(event('representative.passkey_renamed', { from: 'My phone', name: 'Work laptop' }, proxy)),
    ).toEqual(message('messages:history.passkeyRenamed', { from: 'My phone', name: 'Work laptop' }));
    expect(describeForAccountHolder(event('representative.second_factor_added', { factor: 'totp' }, proxy))).toEqual(
      message('messages:history.secondFactorAdded'),
    );
    expect(describeForAccountHolder(event('patient.passkey_renamed', { from: 'Tablet', name: 'Kitchen tablet' }))).toEqual(
      message('messages:history.passkeyRenamed', { from: 'Tablet', name: 'Kitchen tablet' }),
    );
    expect(describePatientEvent(event('patient.passkey_renamed', { from: 'Tablet', name: 'Kitchen tablet' }))).toBe(
      'The patient renamed their passkey “Tablet” to “Kitchen tablet”.',
    );
  });
});
