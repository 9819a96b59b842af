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
}

/** Why no invite/reset email may go to this patient; null when one may. */
export type InviteBlock = 'deceased' | 'not_enabled' | 'no_email' | 'bounced';

/** A deceased patient's mailbox is read by whoever holds it now: never enable, never invite. */
export function mayEnable(patient: Pick<EligibilityFields, 'deceased'>): boolean {
  return !patient.deceased;
}

/** An address an email can go to: a whitespace-only value is no email at all. */
export function hasEmail(email: string | null | undefined): email is string {
  return typeof email === 'string' && email.trim() !== '';
}

export function inviteBlock(patient: EligibilityFields): InviteBlock | null {
  if (patient.deceased) return 'deceased';
  if (!patient.accessEnabled) return 'not_enabled';
  if (!hasEmail(patient.email)) return 'no_email';
  if (patient.bouncedEmail && patient.bouncedEmail === patient.email) return 'bounced';
  return null;
}

/** Whether "Send Invite to …" / "Send password reset to …" is offered (row, tab) and sent (single and bulk). */
export function canInvite(patient: EligibilityFields): boolean {
  return inviteBlock(patient) === null;
}

/**
 * Why no printed activation letter (issue #18) may go to this patient; null when one may. The
 * minors rule (issue #16: under MINOR_SELF_ACCESS_AGE, 'under_self_access_age') joins here.
 */
export type LetterBlock = 'deceased' | 'not_enabled' | 'no_postal_address';

export function letterBlock(patient: Omit<EligibilityFields, 'email'> & { mailable: boolean }): LetterBlock | null {
  if (patient.deceased) return 'deceased';
  if (!patient.accessEnabled) return 'not_enabled';
  if (!patient.mailable) return 'no_postal_address';
  return null;
}

/** Invite or password reset: a patient who already chose a username gets a reset. */
export function inviteKind(account: { username: string | null }): 'invite' | 'reset' {
  return account.username ? 'reset' : 'invite';
}

/** Shown in the status cell instead of the red "enable" block. */
export const DECEASED_LABEL = {
  label: 'Deceased',
  description: 'Recorded as deceased: portal access cannot be enabled and no email is sent',
};

/** The refusal of a single enable or invite, naming the patient. */
export const deceasedRefusal = (fullName: string, action: 'enable' | 'invite') =>
  `${fullName} is recorded as deceased: ${action === 'enable' ? 'portal access cannot be enabled' : 'no invite or reset email is sent'}. Nothing was changed.`;
