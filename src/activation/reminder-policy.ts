/**
 * The reminder rules (issue 17, "Automatic reminders") as pure functions: which reminder, if any,
 * is due for one patient. The repository finds the patients who could be reminded at all (enabled,
 * invited, not set up); the service applies these rules and claims what is due.
 */
export interface ReminderPolicy {
  enabled: boolean;
  /** Whole days after the invite at which an unused invite is reminded, ascending (default 3 and 7). */
  daysAfterInvite: number[];
  /** Remind this many days before the next appointment (default 2; 0: no visit reminder). */
  daysBeforeAppointment: number;
  /** At most this many reminders per patient, ever (default 3). */
  maxPerPatient: number;
  /** Reminders go out only from this clinic-time hour (inclusive)… */
  allowedFromHour: number;
  /** …until this one (exclusive); from > until wraps past midnight. */
  allowedUntilHour: number;
  updatedAt: Date | null;
}

export const DEFAULT_REMINDER_POLICY: ReminderPolicy = {
  enabled: false,
  daysAfterInvite: [3, 7],
  daysBeforeAppointment: 2,
  maxPerPatient: 3,
  allowedFromHour: 8,
  allowedUntilHour: 20,
  updatedAt: null,
};

const DAY_MS = 86_400_000;

/** "3, 7" → [3, 7]; null when it is not a short list of whole days 1–365. */
export function parseDays(text: string): number[] | null {
  const value = text.trim();
  if (value === '') return [];
  if (!/^\d{1,3}(\s*,\s*\d{1,3}){0,9}$/.test(value)) return null;
  const days = [...new Set(value.split(',').map((part) => Number(part.trim())))].sort((a, b) => a - b);
  return days.every((day) => day >= 1 && day <= 365) ? days : null;
}

/** Whether a clinic-time hour is inside the allowed window. */
export function withinAllowedHours(policy: Pick<ReminderPolicy, 'allowedFromHour' | 'allowedUntilHour'>, hour: number): boolean {
  const { allowedFromHour: from, allowedUntilHour: until } = policy;
  if (from === until) return true;
  return from < until ? hour >= from && hour < until : hour >= from || hour < until;
}

/** A patient who could be reminded: invited, access on, not set up (the repository's query). */
export interface ReminderCandidate {
  patientId: number;
  /** The latest invite not sent by the scheduler: the one whose days are counted. */
  inviteTokenId: number;
  invitedAt: Date;
  /** The address that invite went to; a different address on file now means the email changed. */
  invitedAddress: string;
  email: string | null;
  /** The address a hard bounce came back from, if any. */
  bouncedEmail: string | null;
  nextAppointmentAt: Date | null;
  remindersSent: number;
  /** Step keys already claimed for this patient (by any instance, ever). */
  claimedSteps: ReadonlySet<string>;
}

export interface DueReminder {
  patientId: number;
  key: string;
  kind: 'invite' | 'visit';
  days: number;
}

export type ReminderStop = 'cap' | 'email_changed' | 'bounced';

/** Why this patient gets no more reminders, or null. */
export function reminderStop(candidate: ReminderCandidate, policy: ReminderPolicy): ReminderStop | null {
  if (candidate.remindersSent >= policy.maxPerPatient) return 'cap';
  if (!candidate.email || candidate.email !== candidate.invitedAddress) return 'email_changed';
  if (candidate.bouncedEmail && candidate.bouncedEmail === candidate.email) return 'bounced';
  return null;
}

/**
 * The one reminder due now, or null. A visit coming up within K days wins (it is the more urgent
 * reason); otherwise the latest invite step that has passed — when 3 and 7 have both passed (the
 * policy was just turned on) only day 7 is sent, day 3 is never sent late.
 */
export function dueReminder(candidate: ReminderCandidate, policy: ReminderPolicy, now: Date): DueReminder | null {
  if (reminderStop(candidate, policy)) return null;
  const visit = candidate.nextAppointmentAt;
  const k = policy.daysBeforeAppointment;
  // A visit reminder needs an invite at least a day old: a fresh invite is its own reminder.
  const settled = candidate.invitedAt.getTime() + DAY_MS <= now.getTime();
  if (k > 0 && settled && visit && visit.getTime() > now.getTime() && visit.getTime() - k * DAY_MS <= now.getTime()) {
    const key = `visit:${visit.toISOString().slice(0, 16)}`;
    if (!candidate.claimedSteps.has(key)) return { patientId: candidate.patientId, key, kind: 'visit', days: k };
  }
  const passed = policy.daysAfterInvite.filter((days) => candidate.invitedAt.getTime() + days * DAY_MS <= now.getTime());
  if (passed.length === 0) return null;
  const days = passed[passed.length - 1];
  const key = `invite:${candidate.inviteTokenId}:${days}`;
  return candidate.claimedSteps.has(key) ? null : { patientId: candidate.patientId, key, kind: 'invite', days };
}
