import { englishLabels } from './portal-status';
import { message } from '../i18n/messages';

/**
 * May this patient be enabled, may they be invited: the one rule, used by the onboarding
 * rows (which link to show), the bulk plans (who is skipped and why) and the single
 * actions (their refusals). The colour itself stays in portal-status.ts: a deceased
 * patient is red (access not enabled) and can never leave it.
 */
export interface EligibilityFields {
  deceased: boolean;
  accessEnabled: boolean;
  email: string | null;
  /** The address a hard bounce came back from (issue 17): no email to it while it is still on file. */
  bouncedEmail?: string | null;
  /** Age in whole years on the clinic's today, when the caller knows it (issue 16, minors). */
  age?: number | null;
  /**
   * Someone else holds this address too (another patient, another patient's representative,
   * staff): no one-click or bulk invite; a single invite needs a ticked confirmation on the tab.
   */
  sharedEmail?: boolean;
}

/** The minors rule's two ages (AGE_OF_MAJORITY, MINOR_SELF_ACCESS_AGE in AppConfig). */
export interface AgeRules {
  ageOfMajority: number;
  minorSelfAccessAge: number;
}

/** Why no invite/reset email may go to this patient; null when one may. */
export type InviteBlock = 'deceased' | 'not_enabled' | 'no_email' | 'bounced' | 'under_self_access_age' | 'shared_email';

/** A deceased patient's mailbox is read by whoever holds it now: never enable, never invite. */
export function mayEnable(patient: Pick<EligibilityFields, 'deceased'>): boolean {
  return !patient.deceased;
}

/** An address an email can go to: a whitespace-only value is no email at all. */
export function hasEmail(email: string | null | undefined): email is string {
  return typeof email === 'string' && email.trim() !== '';
}

/** The minors rule's one test: an age known and under MINOR_SELF_ACCESS_AGE (invites and letters alike). */
export function underSelfAccessAge(age: number | null | undefined, ages: AgeRules | undefined): boolean {
  return Boolean(ages) && typeof age === 'number' && age < ages!.minorSelfAccessAge;
}

/**
 * Under MINOR_SELF_ACCESS_AGE a patient gets no account of their own: the portal is reached
 * through a guardian representative (their own account) instead.
 */
export function inviteBlock(patient: EligibilityFields, ages?: AgeRules): InviteBlock | null {
  if (patient.deceased) return 'deceased';
  if (underSelfAccessAge(patient.age, ages)) return 'under_self_access_age';
  if (!patient.accessEnabled) return 'not_enabled';
  if (!hasEmail(patient.email)) return 'no_email';
  if (patient.bouncedEmail && patient.bouncedEmail === patient.email) return 'bounced';
  if (patient.sharedEmail) return 'shared_email';
  return null;
}

/** Whether "Send Invite to …" / "Send password reset to …" is offered (row, tab) and sent (single and bulk). */
export function canInvite(patient: EligibilityFields, ages?: AgeRules): boolean {
  return inviteBlock(patient, ages) === null;
}

/**
 * Why no printed activation letter (issue #18) may go to this patient; null when one may. A
 * letter sets up the patient's own account, so the minors rule is the invite's: under
 * MINOR_SELF_ACCESS_AGE no letter (a guardian representative is invited instead).
 */
export type LetterBlock = 'deceased' | 'under_self_access_age' | 'not_enabled' | 'no_postal_address';

export function letterBlock(
  patient: Omit<EligibilityFields, 'email'> & { mailable: boolean },
  ages?: AgeRules,
): LetterBlock | null {
  if (patient.deceased) return 'deceased';
  if (underSelfAccessAge(patient.age, ages)) return 'under_self_access_age';
  if (!patient.accessEnabled) return 'not_enabled';
  if (!patient.mailable) return 'no_postal_address';
  return null;
}

/** Where a patient stands under the minors rule: a young child, a minor old enough for their own account too, or an adult. */
export function minorStage(age: number | null | undefined, ages: AgeRules): 'under_self_access' | 'minor' | null {
  if (typeof age !== 'number') return null;
  if (age < ages.minorSelfAccessAge) return 'under_self_access';
  return age < ages.ageOfMajority ? 'minor' : null;
}

/** Shown on the row, the tab and the bulk preview for a patient under the self-access age. */
export const underSelfAccessText = (ages: AgeRules) =>
  message('staff:reach.underSelfAccessRule', { age: ages.minorSelfAccessAge });

/** Invite or password reset: a patient who already chose a username gets a reset. */
export function inviteKind(account: { username: string | null }): 'invite' | 'reset' {
  return account.username ? 'reset' : 'invite';
}

/** Shown in the status cell instead of the red "enable" block. */
export const DECEASED_LABEL = englishLabels('status', ['deceased'] as const).deceased;

/** The refusal of a single enable or invite, naming the patient. */
export const deceasedRefusal = (fullName: string, action: 'enable' | 'invite') =>
  message(action === 'enable' ? 'staff:refusal.deceasedEnable' : 'staff:refusal.deceasedInvite', { name: fullName });
