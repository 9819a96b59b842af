import type { AuditRow } from './audit-query.service';
import { message } from '../i18n/messages';

/** One line of a patient's activity list, in words. */
export interface ActivityItem {
  occurredAt: Date;
  text: string;
  /** success, failure or denied: failures are shown as such, not only by colour. */
  outcome: string;
  ip: string | null;
}

/** How often staff opened the record (folded into one line rather than one row per view). */
export interface ViewSummary {
  count: number;
  lastAt: Date | null;
  lastBy: string | null;
}

type Details = Record<string, unknown>;

const FIELD_NAMES: Record<string, string> = {
  firstName: 'first name',
  lastName: 'last name',
  dateOfBirth: 'date of birth',
  phone: 'phone',
  primaryProvider: 'primary provider',
  tags: 'tags',
};

const MAIL_KINDS: Record<string, string> = {
  invite: 'The invite email',
  reset: 'The password-reset email',
  email_changed: 'The notice of the email change (to the old address)',
  username_changed: 'The notice of the username change',
  notice_email_changed: 'The notice of the email change (to the old address)',
  notice_username_changed: 'The notice of the username change',
  notice_email_change_requested: 'The notice of the email-change request',
  notice_email_verify: 'The email-change confirmation link',
  notice_password_changed: 'The notice of the password change',
  notice_second_factor_added: 'The notice of the added sign-in step',
  notice_second_factor_removed: 'The notice of the removed sign-in step',
  notice_recovery_code_used: 'The notice of the used recovery code',
  notice_account_locked: 'The notice of the sign-in lock',
};

const REASONS: Record<string, string> = {
  wrong_password: 'wrong password',
  wrong_code: 'wrong code from the authenticator app',
  unknown_user: 'unknown username',
  locked: 'account locked',
  disabled: 'access not enabled',
  not_enabled: 'access not enabled',
  no_password: 'no password set yet',
  expired: 'the link had expired',
  used: 'the link was already used',
  revoked: 'the link had been replaced or revoked',
  unknown: 'unknown link',
  address_changed: 'the email on file had changed',
  throttled: 'too many requests, no email sent',
  no_email: 'no email on file',
  bounced: 'the email address bounced',
  unknown_patient: 'patient not found',
  no_postal_address: 'no postal address',
  under_self_access_age: 'under the self-access age',
  deceased: 'recorded as deceased',
  end_date: 'the end date was reached',
  access_disabled: 'the patient’s portal access was disabled',
  age_of_majority: 'the patient reached the age of majority',
  shared_email: 'the address is shared with someone else',
  no_current_patient: 'they may act for no patient today',
};

/** A representative's relationship to the patient, as the tab words it (patient_representatives.relationship). */
const RELATIONSHIPS: Record<string, string> = {
  parent_or_guardian: 'parent or legal guardian',
  adult_caregiver: 'adult caregiver',
  healthcare_poa: 'healthcare power of attorney',
  other: 'other',
};

const REPRESENTATIVE_FIELDS: Record<string, string> = {
  fullName: 'name',
  relationship: 'relationship',
  email: 'email',
  phone: 'phone',
  basis: 'basis of the authorisation',
  startsOn: 'start date',
  endsOn: 'end date',
};

/** Who did it, as staff read it: the staff member's name or email, the patient, an import, the system. */
export function actorOf(event: Pick<AuditRow, 'actorType' | 'actorLabel' | 'actorId'> & { staffName?: string | null }): string {
  if (event.actorType === 'patient') return 'the patient';
  if (event.actorType === 'proxy') return 'their representative';
  if (event.actorType === 'staff' && event.staffName) return event.staffName;
  if (event.actorType === 'system') return 'the system';
  if (event.actorType === 'import') return event.actorLabel ? `an import (${event.actorLabel})` : 'an import';
  return event.actorLabel ?? (event.actorId ? `staff #${event.actorId}` : 'staff');
}

const reason = (value: unknown) => (typeof value === 'string' ? (REASONS[value] ?? value.replace(/_/g, ' ')) : '');
const LINK_KINDS: Record<string, string> = {
  reset: 'A password-reset link',
  clinic: 'An in-clinic activation code',
  letter: 'An activation letter’s link',
};
const linkKind = (purpose: unknown) => LINK_KINDS[String(purpose)] ?? 'An invite link';
const TOKEN_USED: Record<string, string> = {
  reset: 'used the password-reset link and chose a new password',
  clinic: 'used the in-clinic activation code and chose a username and password',
  letter: 'used the activation letter and chose a username and password',
};
const representativeName = (d: Details) =>
  typeof d.fullName === 'string' ? d.fullName : typeof d.name === 'string' ? d.name : 'a representative';
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The sentence for one audit event of a patient (access, invites, sign-ins, email and username changes, edits). */
export function describePatientEvent(event: AuditRow): string {
  const d: Details = event.details ?? {};
  const by = actorOf(event);
  switch (event.action) {
    case 'portal.access_enabled':
      return `Portal access enabled by ${by}.`;
    case 'portal.access_disabled':
      return `Portal access disabled by ${by}${d.reason ? ` — reason: “${String(d.reason)}”` : ''}${typeof d.revokedLinks === 'number' && d.revokedLinks ? `; ${plural(d.revokedLinks, 'open link')} revoked` : ''}.`;
    case 'portal.invite_issued':
      return d.emailQueued === false
        ? `Invite asked for again by ${by} within seconds: no second email.`
        : `Invite sent to the email on file by ${by}.`;
    case 'portal.reset_issued':
      return d.emailQueued === false
        ? `Password reset asked for again by ${by} within seconds: no second email.`
        : `Password-reset email sent by ${by}.`;
    case 'portal.link_opened':
      return `${linkKind(d.purpose)} was opened (nothing used up yet).`;
    case 'portal.reminder_sent':
      return d.step === 'visit'
        ? `Automatic reminder sent ${String(d.days)} days before the next appointment, with a fresh link.`
        : `Automatic reminder sent ${String(d.days)} days after the invite, with a fresh link.`;
    case 'portal.new_link_requested':
      return event.outcome === 'success'
        ? 'The patient asked for a new link from an expired one; it went to the email on file.'
        : `The patient asked for a new link from an old one; none was sent (${reason(d.reason)}).`;
    case 'mail.bounced':
      return d.kind === 'hard'
        ? `The email to ${String(d.to ?? 'the address on file')} bounced: the address does not accept mail. No more emails go to it until it changes.`
        : `The email to ${String(d.to ?? 'the address on file')} was delayed or refused for now (a soft bounce).`;
    case 'portal.invite_skipped':
      return `No invite sent (asked by ${by}): ${reason(d.reason)}.`;
    case 'mail.sent':
      return `${MAIL_KINDS[String(d.kind)] ?? 'An email'} was delivered to the mail server.`;
    case 'mail.failed':
      return `${MAIL_KINDS[String(d.kind)] ?? 'An email'} could not be delivered${d.reason ? `: ${String(d.reason)}` : ''}.`;
    case 'portal.token_used': {
      const who = d.representativeAccountId || event.actorType === 'proxy' ? 'Their representative' : 'The patient';
      return `${who} ${TOKEN_USED[String(d.purpose)] ?? 'used the invite link and chose a username and password'}.`;
    }
    case 'portal.identity_checked':
      return event.outcome === 'success'
        ? `${linkKind(d.purpose)} was opened and the identity questions were answered correctly.`
        : `Wrong answer to the identity questions (${linkKind(d.purpose).toLowerCase()}${typeof d.failures === 'number' ? `; ${plural(d.failures, 'wrong answer')} so far` : ''}).`;
    case 'portal.identity_locked':
      return `${linkKind(d.purpose)} was revoked after too many wrong answers to the identity questions.`;
    case 'portal.activation_code_shown':
      return `In-clinic activation code shown by ${by}${d.photoIdCheckedBy ? `, who checked the ${d.representativeAccountId ? 'representative’s' : 'patient’s'} photo ID` : ''}${d.representativeAccountId ? ` (for ${representativeName(d)}, their representative)` : ''}.`;
    case 'portal.letter_printed':
      return `Activation letter printed by ${by}${d.expiresAt ? ` (its link works until ${String(d.expiresAt).slice(0, 10)})` : ''}.`;
    case 'portal.letter_skipped':
      return `No activation letter printed (asked by ${by}): ${reason(d.reason)}.`;
    case 'portal.enable_skipped':
      return `Portal access not enabled (asked by ${by}): ${reason(d.reason)}.`;
    case 'portal.shared_email_confirmed':
      return `${by} confirmed that this patient alone reads the shared email address${d.sharedWith ? ` (${String(d.sharedWith).replace(/^Email shared/, 'shared')})` : ''}${d.reason ? ` — reason: “${String(d.reason)}”` : ''}.`;
    case 'representative.added':
      return `${representativeName(d)} added as an authorised representative${d.relationship ? ` (${RELATIONSHIPS[String(d.relationship)] ?? String(d.relationship)})` : ''} by ${by}${d.startsOn ? `, from ${String(d.startsOn)}` : ''}${d.endsOn ? ` to ${String(d.endsOn)}` : ''}.`;
    case 'representative.updated': {
      const fields = Array.isArray(d.changed) ? d.changed.map((f) => REPRESENTATIVE_FIELDS[String(f)] ?? String(f)) : [];
      return `Representative ${representativeName(d)} changed by ${by}${fields.length ? `: ${fields.join(', ')}` : ''}${d.reason ? ` — reason: “${String(d.reason)}”` : ''}.`;
    }
    case 'representative.revoked':
      return `Representative ${representativeName(d)} revoked by ${by}${d.staffReason ? ` — reason: “${String(d.staffReason)}”` : ''}; their links and sessions for this patient ended.`;
    case 'representative.ended':
      return `Representative ${representativeName(d)}’s access ended: ${reason(d.reason)}.`;
    case 'representative.sign_in':
      return event.outcome === 'success'
        ? 'A representative signed in to the portal.'
        : `Failed representative sign-in${d.reason ? ` (${reason(d.reason)})` : ''}.`;
    case 'representative.sign_out':
      return 'A representative signed out of the portal.';
    case 'representative.locked_out':
      return `A representative’s sign-in was locked${d.minutes ? ` for ${String(d.minutes)} minutes` : ''} after repeated failures.`;
    case 'representative.account_unlocked':
      return `Representative ${representativeName(d)}’s portal sign-in unlocked by ${by}.`;
    case 'representative.reset_requested':
      return event.outcome === 'success'
        ? `Their representative asked for a password reset on the portal sign-in page; it went to ${String(d.sentTo ?? 'their own address')}.`
        : `Their representative asked for a password reset; none was sent (${reason(d.reason)}).`;
    case 'representative.language_changed':
      return `A representative chose ${String(d.to ?? 'another language')} for their emails and portal pages.`;
    case 'representative.second_factor_added':
      return event.outcome === 'success'
        ? `A representative added ${d.factor === 'passkey' ? `a passkey (“${String(d.name)}”)` : 'an authenticator app'} as a second sign-in step to their own account.`
        : `A representative’s second sign-in step was not added (${reason(d.reason)}).`;
    case 'representative.second_factor_removed':
      return event.outcome === 'success'
        ? `A representative removed ${d.factor === 'passkey' ? `their passkey “${String(d.name)}”` : 'their authenticator app'} from their own account.`
        : `Removing a representative’s second sign-in step was refused (${reason(d.reason)}).`;
    case 'representative.recovery_code_used':
      return `A representative used a recovery code to sign in (${plural(Number(d.remaining ?? 0), 'code')} left).`;
    case 'representative.recovery_codes_generated':
      return 'A representative created new recovery codes.';
    case 'representative.passkey_renamed':
      return `A representative renamed their passkey “${String(d.from ?? '')}” to “${String(d.name ?? '')}”.`;
    case 'representative.invite_issued':
      return `Invite sent to representative${d.sentTo ? ` at ${String(d.sentTo)}` : ''} by ${by}.`;
    case 'representative.reset_issued':
      return `Password-reset email sent to representative${d.sentTo ? ` at ${String(d.sentTo)}` : ''} by ${by}.`;
    case 'portal.token_failed':
      return `${linkKind(d.purpose)} was refused${d.reason ? ` (${reason(d.reason)})` : ''}.`;
    case 'portal.reset_requested':
      return event.outcome === 'success'
        ? 'The patient asked for a password reset on the portal sign-in page.'
        : `A password reset was asked for on the portal sign-in page (${reason(d.reason)}).`;
    case 'patient.sign_in':
      return event.outcome === 'success'
        ? 'Signed in to the portal.'
        : `Failed portal sign-in${d.reason ? ` (${reason(d.reason)})` : ''}.`;
    case 'patient.sign_out':
      return 'Signed out of the portal.';
    case 'patient.locked_out':
      return `Portal sign-in locked${d.minutes ? ` for ${String(d.minutes)} minutes` : ''} after repeated failures${d.patientNotified ? '; the patient was told by email' : ''}.`;
    case 'portal.account_unlocked':
      return `Portal sign-in unlocked by ${by}.`;
    case 'portal.username_changed':
      return `Username changed from “${String(d.from ?? '')}” to “${String(d.to ?? '')}” by ${by}${d.patientNotified ? '; the patient was told by email' : ''}.`;
    case 'patient.email_changed': {
      const links =
        typeof d.revokedLinks === 'number' && d.revokedLinks ? `; ${plural(d.revokedLinks, 'open link')} revoked` : '';
      return `Email changed from ${d.from ? String(d.from) : '(none)'} to ${String(d.to ?? '')} by ${by}${d.reason ? ` — reason: “${String(d.reason)}”` : ''}${links}${d.oldAddressNotified ? '; the old address was told' : ''}.`;
    }
    case 'patient.email_change_requested':
      if (event.outcome !== 'success')
        return `The email address ${String(d.to ?? '')} was not accepted from ${by}: ${reason(d.reason)}${d.sharedWith ? ` (${String(d.sharedWith).replace(/^Email shared/, 'shared')})` : ''}.`;
      return `Email change to ${String(d.to ?? '')} requested by ${by}${d.reason ? ` — reason: “${String(d.reason)}”` : ''}${d.needsApproval ? '; waiting for another staff member’s approval' : ''}; the new address must confirm it${d.oldAddressNotified ? '; the old address was told' : ''}.`;
    case 'patient.email_change_approved':
      return `Email change to ${String(d.to ?? '')} approved by ${by}.`;
    case 'patient.email_change_rejected':
      return `Email change to ${String(d.to ?? '')} rejected by ${by}.`;
    case 'patient.email_change_confirmed':
      return event.outcome === 'success'
        ? 'The new email address confirmed the change.'
        : `An email-change confirmation was refused${d.reason ? ` (${reason(d.reason)})` : ''}.`;
    case 'patient.email_change_reported':
      return 'The old email address reported “this wasn’t me”: the change was stopped and admins were alerted.';
    case 'patient.password_changed':
      return event.outcome === 'success'
        ? `The patient changed their password on the account page${typeof d.otherSessionsEnded === 'number' && d.otherSessionsEnded ? `; ${plural(d.otherSessionsEnded, 'other session')} ended` : ''}.`
        : `A password change on the account page was refused (${reason(d.reason)}).`;
    case 'patient.session_ended':
      return `The patient ended a portal session${d.device ? ` (${String(d.device)})` : ''} from the account page.`;
    case 'patient.sessions_ended':
      return `The patient ended ${plural(Number(d.count ?? 0), 'other portal session')} from the account page.`;
    case 'patient.second_factor_added':
      if (d.factor === 'passkey')
        return event.outcome === 'success'
          ? `The patient added a passkey (“${String(d.name)}”) as a second sign-in step${d.patientNotified ? '; the patient was told by email' : ''}.`
          : `The patient’s passkey was not added (${reason(d.reason)}).`;
      return event.outcome === 'success'
        ? `The patient added an authenticator app as a second sign-in step${d.patientNotified ? '; the patient was told by email' : ''}.`
        : 'The patient’s authenticator-app set-up failed (wrong code).';
    case 'patient.second_factor_removed':
      if (event.outcome !== 'success') return `Removing a second sign-in step was refused (${reason(d.reason)}).`;
      if (d.factor === 'passkey')
        return `The patient removed their passkey “${String(d.name)}”${d.patientNotified ? '; the patient was told by email' : ''}.`;
      return `The patient removed their authenticator app${d.patientNotified ? '; the patient was told by email' : ''}.`;
    case 'patient.recovery_code_used':
      return `A recovery code was used to sign in (${plural(Number(d.remaining ?? 0), 'code')} left).`;
    case 'patient.recovery_codes_generated':
      return 'The patient created new recovery codes.';
    case 'patient.passkey_renamed':
      return `The patient renamed their passkey “${String(d.from ?? '')}” to “${String(d.name ?? '')}”.`;
    case 'patient.marked_deceased':
      return `Recorded as deceased by ${by}: portal access off, links revoked, sessions ended.`;
    case 'patient.details_changed': {
      const fields = Array.isArray(d.changed) ? d.changed.map((field) => FIELD_NAMES[String(field)] ?? String(field)) : [];
      return `Details changed by ${by}${fields.length ? `: ${fields.join(', ')}` : ''}.`;
    }
    case 'patient.imported':
      return `Record ${d.change === 'created' ? 'created' : 'updated'} by ${by}.`;
    default:
      return `${event.action.replace(/[._]/g, ' ')} (${by}).`;
  }
}

/** The events as lines; `describe` picks the voice (staff's by default, or describeForAccountHolder). */
export function describePatientActivity(events: AuditRow[], describe = describePatientEvent): ActivityItem[] {
  return events.map((event) => ({
    occurredAt: event.occurredAt,
    text: describe(event),
    outcome: event.outcome,
    ip: event.ip,
  }));
}

/** "Viewed 14 times, last by Sam Staff" (the time is shown next to it). */
export function describeViews(views: ViewSummary): string | null {
  if (!views.count) return null;
  return `Record viewed ${plural(views.count, 'time')} by staff, last by ${views.lastBy ?? 'staff'}`;
}

/** What a portal account holder sees in their own access history (sign-ins and changes to the account). */
export const ACCOUNT_HISTORY_ACTIONS = [
  'patient.sign_in',
  'patient.sign_out',
  'patient.locked_out',
  'portal.account_unlocked',
  'portal.username_changed',
  'patient.email_changed',
  'portal.token_used',
  'patient.password_changed',
  'patient.session_ended',
  'patient.sessions_ended',
  'portal.access_enabled',
  'portal.access_disabled',
  'patient.second_factor_added',
  'patient.second_factor_removed',
  'patient.recovery_code_used',
  'patient.recovery_codes_generated',
  'patient.passkey_renamed',
];

/** What a representative sees in their own access history: the same events, under their own action names. */
export const REPRESENTATIVE_HISTORY_ACTIONS = [
  'representative.sign_in',
  'representative.sign_out',
  'representative.locked_out',
  'representative.password_changed',
  'representative.session_ended',
  'representative.sessions_ended',
  'representative.second_factor_added',
  'representative.second_factor_removed',
  'representative.recovery_code_used',
  'representative.recovery_codes_generated',
  'representative.passkey_renamed',
  'representative.language_changed',
  'portal.token_used',
];

/**
 * The same events in the account holder's own words ("You signed in."). The clinic acts as
 * "the clinic": staff names and reasons typed by staff stay on the staff side.
 */
export function describeForAccountHolder(event: AuditRow): string {
  const d: Details = event.details ?? {};
  const you = event.actorType === 'patient' || event.actorType === 'proxy';
  // Message keys (i18n/messages): the account page shows them in the patient's language.
  const known = <T extends string>(value: unknown, reasons: readonly T[]) =>
    reasons.includes(value as T) ? (value as T) : 'other';
  // A representative's own-account events read as the patient's do ("You signed in.").
  switch (
    REPRESENTATIVE_HISTORY_ACTIONS.includes(event.action) ? event.action.replace(/^representative\./, 'patient.') : event.action
  ) {
    case 'patient.sign_in':
      return event.outcome === 'success'
        ? message('messages:history.signedIn')
        : message(
            `messages:history.signInFailed.${known(d.reason, ['wrong_password', 'wrong_code', 'locked', 'access_disabled', 'no_password'] as const)}`,
          );
    case 'patient.sign_out':
      return message('messages:history.signedOut');
    case 'patient.locked_out':
      return d.minutes ? message('messages:history.lockedFor', { count: Number(d.minutes) }) : message('messages:history.locked');
    case 'portal.account_unlocked':
      return message('messages:history.unlocked');
    case 'portal.username_changed':
      return message('messages:history.usernameChanged', { from: String(d.from ?? ''), to: String(d.to ?? '') });
    case 'patient.email_changed':
      return message('messages:history.emailChanged', { to: String(d.to ?? '') });
    case 'portal.token_used':
      return message(d.purpose === 'reset' ? 'messages:history.passwordReset' : 'messages:history.accountSetUp');
    case 'patient.password_changed':
      if (event.outcome !== 'success')
        return message(`messages:history.passwordChangeRefused.${known(d.reason, ['wrong_password', 'locked'] as const)}`);
      return typeof d.otherSessionsEnded === 'number' && d.otherSessionsEnded
        ? message('messages:history.passwordChangedEnded', { count: d.otherSessionsEnded })
        : message('messages:history.passwordChanged');
    case 'patient.session_ended':
      return d.device
        ? message('messages:history.sessionEndedOn', { device: String(d.device) })
        : message('messages:history.sessionEnded');
    case 'patient.sessions_ended':
      return message('messages:history.sessionsEnded', { count: Number(d.count ?? 0) });
    case 'patient.second_factor_added':
      if (d.factor === 'passkey')
        return event.outcome === 'success'
          ? message('messages:history.passkeyAdded', { name: String(d.name ?? '') })
          : message('messages:history.passkeyFailed');
      return message(event.outcome === 'success' ? 'messages:history.secondFactorAdded' : 'messages:history.secondFactorFailed');
    case 'patient.second_factor_removed':
      if (event.outcome !== 'success')
        return message(`messages:history.secondFactorRemoveRefused.${known(d.reason, ['wrong_password', 'locked'] as const)}`);
      if (d.factor === 'passkey') return message('messages:history.passkeyRemoved', { name: String(d.name ?? '') });
      return message('messages:history.secondFactorRemoved');
    case 'patient.recovery_code_used':
      return message('messages:history.recoveryCodeUsed', { count: Number(d.remaining ?? 0) });
    case 'patient.recovery_codes_generated':
      return message('messages:history.recoveryCodesGenerated');
    case 'patient.language_changed':
      return message('messages:history.languageChanged');
    case 'patient.passkey_renamed':
      return message('messages:history.passkeyRenamed', { from: String(d.from ?? ''), name: String(d.name ?? '') });
    case 'portal.access_enabled':
      return message('messages:history.accessEnabled');
    case 'portal.access_disabled':
      return message('messages:history.accessDisabled');
    default:
      return message(you ? 'messages:history.youChanged' : 'messages:history.clinicChanged');
  }
}
