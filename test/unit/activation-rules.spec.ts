import { dueReminder, parseDays, withinAllowedHours, type ReminderCandidate } from '../../src/activation/reminder-policy';
import { classifyDeliveryStatus } from '../../src/activation/bounces';
import { median } from '../../src/activation/activation-report.service';
import { Verp } from '../../src/invitations/mail/verp';
import { latestLinkState, linkHistory, type LinkStateFields } from '../../src/portal-access/link-state';

const at = (iso: string) => new Date(`${iso}Z`);
const DAY = 86_400_000;

describe('link states (portal-access/link-state.ts)', () => {
  const link: LinkStateFields = {
    purpose: 'invite',
    createdAt: at('2026-11-01T10:00:00'),
    expiresAt: at('2026-11-08T10:00:00'),
    openedAt: null,
    usedAt: null,
    revokedAt: null,
    revokedReason: null,
    delivery: 'pending',
    sentAt: null,
    failedAt: null,
    bouncedAt: null,
    bounceKind: null,
    firstLoginAt: null,
  };
  const now = at('2026-11-02T10:00:00');

  it('walks queued → sent → opened → set up → first sign-in, oldest first', () => {
    const full = {
      ...link,
      delivery: 'sent',
      sentAt: at('2026-11-01T10:00:05'),
      openedAt: at('2026-11-01T12:00:00'),
      usedAt: at('2026-11-01T12:05:00'),
      firstLoginAt: at('2026-11-01T12:06:00'),
    };
    expect(linkHistory(full, now).map((e) => e.state)).toEqual(['queued', 'sent', 'opened', 'set_up', 'signed_in']);
    expect(latestLinkState(full, now).state).toBe('signed_in');
  });

  it('an end wins over the steps before it, and a failed email over an expiry, whatever the stored times say', () => {
    const expired = { ...link, delivery: 'sent', sentAt: at('2026-11-01T10:00:05'), expiresAt: at('2026-01-01T00:00:00') };
    expect(latestLinkState(expired, now)).toMatchObject({ state: 'expired', problem: true });
    expect(latestLinkState({ ...expired, delivery: 'failed', failedAt: at('2026-11-01T11:00:00') }, now).state).toBe('failed');
    expect(latestLinkState({ ...link, delivery: 'cancelled', revokedAt: at('2026-11-01T10:01:00') }, now).state).toBe('not_sent');
    // A first sign-in from before this link (an earlier reset) is not this link's.
    expect(
      linkHistory({ ...link, usedAt: at('2026-11-01T12:00:00'), firstLoginAt: at('2026-10-01T00:00:00') }, now).map(
        (e) => e.state,
      ),
    ).toEqual(['queued', 'set_up']);
  });
});

describe('reminder rules (activation/reminder-policy.ts)', () => {
  const policy = {
    enabled: true,
    daysAfterInvite: [3, 7],
    daysBeforeAppointment: 2,
    maxPerPatient: 3,
    allowedFromHour: 8,
    allowedUntilHour: 20,
    updatedAt: null,
  };
  const now = at('2026-11-20T12:00:00');
  const candidate = (invitedDaysAgo: number, extra: Partial<ReminderCandidate> = {}): ReminderCandidate => ({
    patientId: 1,
    inviteTokenId: 9,
    invitedAt: new Date(now.getTime() - invitedDaysAgo * DAY),
    invitedAddress: 'a@example.test',
    email: 'a@example.test',
    bouncedEmail: null,
    nextAppointmentAt: null,
    remindersSent: 0,
    claimedSteps: new Set(),
    ...extra,
  });

  it('picks the latest invite day passed, once, and a visit within K days first', () => {
    expect(dueReminder(candidate(2.9), policy, now)).toBeNull();
    expect(dueReminder(candidate(3.1), policy, now)?.key).toBe('invite:9:3');
    expect(dueReminder(candidate(9), policy, now)?.key).toBe('invite:9:7');
    expect(dueReminder(candidate(9, { claimedSteps: new Set(['invite:9:7']) }), policy, now)).toBeNull();
    const visit = new Date(now.getTime() + 1.5 * DAY);
    expect(dueReminder(candidate(4, { nextAppointmentAt: visit }), policy, now)?.kind).toBe('visit');
    expect(dueReminder(candidate(0.5, { nextAppointmentAt: visit }), policy, now)).toBeNull();
  });

  it('stops at the cap, a changed address and a bounced one', () => {
    expect(dueReminder(candidate(9, { remindersSent: 3 }), policy, now)).toBeNull();
    expect(dueReminder(candidate(9, { email: 'new@example.test' }), policy, now)).toBeNull();
    expect(dueReminder(candidate(9, { bouncedEmail: 'a@example.test' }), policy, now)).toBeNull();
  });

  it('reads the days list and the allowed hours, wrapping past midnight', () => {
    expect(parseDays('7, 3,3')).toEqual([3, 7]);
    expect(parseDays('3, seven')).toBeNull();
    expect(parseDays('0')).toBeNull();
    expect([7, 8, 19, 20].map((h) => withinAllowedHours(policy, h))).toEqual([false, true, true, false]);
    expect([21, 23, 2, 6, 12].map((h) => withinAllowedHours({ allowedFromHour: 22, allowedUntilHour: 6 }, h))).toEqual([
      false,
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('bounces', () => {
  it('VERP addresses carry the outbox id and refuse a forged or foreign one', () => {
    const verp = new Verp('secret-secret-secret-secret-secret', 'bounces.example.test');
    const address = verp.address('42');
    expect(verp.outboxIdOf(address)).toBe('42');
    expect(verp.outboxIdOf(address.replace('+42.', '+43.'))).toBeNull();
    expect(verp.outboxIdOf(address.replace('bounces.example.test', 'other.test'))).toBeNull();
    expect(new Verp('another-secret-another-secret-xx', 'bounces.example.test').outboxIdOf(address)).toBeNull();
  });

  it('classifies RFC 3464 per-recipient fields', () => {
    expect(
      classifyDeliveryStatus('Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.1.1\n'),
    ).toMatchObject({ kind: 'hard' });
    expect(classifyDeliveryStatus('Final-Recipient: rfc822; a@b\nAction: delayed\nStatus: 4.2.2\n')).toMatchObject({
      kind: 'soft',
    });
    expect(classifyDeliveryStatus('Final-Recipient: rfc822; a@b\nAction: delivered\nStatus: 2.0.0\n')).toBeNull();
  });

  it('takes the median of the set-up times', () => {
    expect(median([])).toBeNull();
    expect(median([6, 2])).toBe(4);
    expect(median([1, 9, 2])).toBe(2);
  });
});
