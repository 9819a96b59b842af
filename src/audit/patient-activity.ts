import type { AuditRow } from './audit-query.service';
import { message, translateMessage } from '../i18n/messages';
import { SOURCE_LANGUAGE, translatorFor } from '../i18n/translations';

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
type Values = Record<string, unknown>;

/**
 * The staff-language words of the activity list (staff.json `activity.*`). A sentence is one key; an optional
 * clause (a typed reason, revoked links, "the patient was told") is a placeholder the translation places, so
 * each language orders them itself.
 */
function activityWords(language: string) {
  const t = translatorFor(language);
  const say = (key: string, values: Values = {}) => t(`staff:activity.${key}`, values) as string;
  /** A word from a list of codes (a reason, a field), or the code in words when no file names it. */
  const named = (group: string, code: unknown, fallback = String(code ?? '').replace(/_/g, ' ')) =>
    t(`staff:activity.${group}.${String(code)}`, { defaultValue: fallback }) as string;
  /** An optional clause: its words when `when` holds, else nothing. */
  const part = (when: unknown, key: string, values: Values = {}) => (when ? say(`part.${key}`, values) : '');
  return { say, named, part };
}

/** Who did it, as staff read it: the staff member's name or email, the patient, an import, the system. */
export function actorOf(
  event: Pick<AuditRow, 'actorType' | 'actorLabel' | 'actorId'> & { staffName?: string | null },
  language = SOURCE_LANGUAGE,
): string {
  const { say } = activityWords(language);
  if (event.actorType === 'patient') return say('actor.patient');
  if (event.actorType === 'proxy') return say('actor.proxy');
  if (event.actorType === 'staff' && event.staffName) return event.staffName;
  if (event.actorType === 'system') return say('actor.system');
  if (event.actorType === 'import')
    return event.actorLabel ? say('actor.importLabelled', { label: event.actorLabel }) : say('actor.import');
  return event.actorLabel ?? (event.actorId ? say('actor.staffNumber', { id: event.actorId }) : say('actor.staff'));
}

const LINK_KINDS = new Set(['invite', 'reset', 'clinic', 'letter']);
const linkPurpose = (purpose: unknown) => (LINK_KINDS.has(String(purpose)) ? String(purpose) : 'invite');
const text = (value: unknown) => String(value ?? '');
const count = (value: unknown) => (typeof value === 'number' && value ? value : 0);

/** The sentence for one audit event of a patient (access, invites, sign-ins, email and username changes, edits), in `language`. */
export function describePatientEvent(event: AuditRow, language = SOURCE_LANGUAGE): string {
  const d: Details = event.details ?? {};
  const { say, named, part } = activityWords(language);
  const by = actorOf(event, language);
  const line = (key: string, values: Values = {}) => say(`line.${key}`, { by, ...values });
  const reason = (value: unknown) => (typeof value === 'string' ? named('reason', value) : '');
  const because = (value: unknown) => part(value, 'because', { reason: reason(value) });
  // A typed reason is shown as written; a reason the system gave (an import's request) is a message key.
  const typedReason = (value: unknown) => part(value, 'reason', { reason: translateMessage(language, text(value)) });
  const link = named('linkKind', linkPurpose(d.purpose));
  const lowerFirst = (words: string) => words.charAt(0).toLocaleLowerCase(language) + words.slice(1);
  const patientTold = part(d.patientNotified, 'patientTold');
  const oldAddressTold = part(d.oldAddressNotified, 'oldAddressTold');
  const revokedLinks = part(count(d.revokedLinks), 'revokedLinks', { count: count(d.revokedLinks) });
  const minutes = part(d.minutes, 'forMinutes', { count: Number(d.minutes) });
  // The shared-with note is stored as the sentence it was shown in ("Email shared with …").
  const sharedWith = part(d.sharedWith, 'sharedWith', { shared: text(d.sharedWith).replace(/^Email shared/, 'shared') });
  const representative =
    typeof d.fullName === 'string' ? d.fullName : typeof d.name === 'string' ? d.name : say('actor.representative');
  const mail = named('mailKind', d.kind, say('mailKind.other'));
  const fieldList = (group: string) =>
    part(Array.isArray(d.changed) && d.changed.length, 'fields', {
      fields: (Array.isArray(d.changed) ? d.changed : []).map((field) => named(group, field, String(field))).join(', '),
    });
  const outcome = event.outcome === 'success';
  switch (event.action) {
    case 'portal.access_enabled':
      return line('accessEnabled');
    case 'portal.access_disabled':
      return line('accessDisabled', { reason: typedReason(d.reason), links: revokedLinks });
    case 'portal.invite_issued':
      return line(d.emailQueued === false ? 'inviteRepeated' : 'inviteSent');
    case 'portal.reset_issued':
      return line(d.emailQueued === false ? 'resetRepeated' : 'resetSent');
    case 'portal.link_opened':
      return line('linkOpened', { link });
    case 'portal.reminder_sent':
      return line(d.step === 'visit' ? 'reminderVisit' : 'reminderInvite', { count: Number(d.days) });
    case 'portal.new_link_requested':
      return outcome ? line('newLinkSent') : line('newLinkRefused', { reason: reason(d.reason) });
    case 'mail.bounced':
      return line(d.kind === 'hard' ? 'bouncedHard' : 'bouncedSoft', { to: d.to ? text(d.to) : say('part.addressOnFile') });
    case 'portal.invite_skipped':
      return line('inviteSkipped', { reason: reason(d.reason) });
    case 'mail.sent':
      return line('mailSent', { mail });
    case 'mail.failed':
      return d.reason ? line('mailFailedBecause', { mail, error: text(d.reason) }) : line('mailFailed', { mail });
    case 'portal.token_used': {
      const who = d.representativeAccountId || event.actorType === 'proxy' ? 'representative' : 'patient';
      return line(`tokenUsed.${who}.${linkPurpose(d.purpose)}`);
    }
    case 'portal.identity_checked':
      if (outcome) return line('identityChecked', { link });
      return typeof d.failures === 'number'
        ? line('identityWrongCount', { link: lowerFirst(link), count: d.failures })
        : line('identityWrong', { link: lowerFirst(link) });
    case 'portal.identity_locked':
      return line('identityLocked', { link });
    case 'portal.activation_code_shown':
      return line(`codeShown${d.representativeAccountId ? 'Representative' : ''}${d.photoIdCheckedBy ? 'Checked' : ''}`, {
        name: representative,
      });
    case 'portal.letter_printed':
      return d.expiresAt ? line('letterPrintedUntil', { until: text(d.expiresAt).slice(0, 10) }) : line('letterPrinted');
    case 'portal.letter_skipped':
      return line('letterSkipped', { reason: reason(d.reason) });
    case 'portal.enable_skipped':
      return line('enableSkipped', { reason: reason(d.reason) });
    case 'portal.shared_email_confirmed':
      return line('sharedConfirmed', { shared: sharedWith, reason: typedReason(d.reason) });
    case 'representative.added':
      return line('representativeAdded', {
        name: representative,
        relationship: part(d.relationship, 'relationship', {
          relationship: named('relationship', d.relationship, text(d.relationship)),
        }),
        from: part(d.startsOn, 'from', { date: text(d.startsOn) }),
        to: part(d.endsOn, 'to', { date: text(d.endsOn) }),
      });
    case 'representative.updated':
      return line('representativeUpdated', {
        name: representative,
        fields: fieldList('representativeField'),
        reason: typedReason(d.reason),
      });
    case 'representative.revoked':
      return line('representativeRevoked', { name: representative, reason: typedReason(d.staffReason) });
    case 'representative.ended':
      return line('representativeEnded', { name: representative, reason: reason(d.reason) });
    case 'representative.sign_in':
      return outcome ? line('representativeSignedIn') : line('representativeSignInFailed', { because: because(d.reason) });
    case 'representative.sign_out':
      return line('representativeSignedOut');
    case 'representative.locked_out':
      return line('representativeLocked', { minutes });
    case 'representative.account_unlocked':
      return line('representativeUnlocked', { name: representative });
    case 'representative.reset_requested':
      return outcome
        ? line('representativeResetSent', { to: d.sentTo ? text(d.sentTo) : say('part.ownAddress') })
        : line('representativeResetRefused', { reason: reason(d.reason) });
    case 'representative.language_changed':
      return line('representativeLanguage', { language: d.to ? text(d.to) : say('part.anotherLanguage') });
    case 'representative.second_factor_added':
      if (!outcome) return line('representativeFactorNotAdded', { reason: reason(d.reason) });
      return d.factor === 'passkey' ? line('representativePasskeyAdded', { name: text(d.name) }) : line('representativeAppAdded');
    case 'representative.second_factor_removed':
      if (!outcome) return line('representativeFactorRemoveRefused', { reason: reason(d.reason) });
      return d.factor === 'passkey'
        ? line('representativePasskeyRemoved', { name: text(d.name) })
        : line('representativeAppRemoved');
    case 'representative.recovery_code_used':
      return line('representativeRecoveryCodeUsed', { count: Number(d.remaining ?? 0) });
    case 'representative.recovery_codes_generated':
      return line('representativeRecoveryCodesGenerated');
    case 'representative.passkey_renamed':
      return line('representativePasskeyRenamed', { from: text(d.from), name: text(d.name) });
    case 'representative.invite_issued':
      return d.sentTo ? line('representativeInviteSentTo', { to: text(d.sentTo) }) : line('representativeInviteSent');
    case 'representative.reset_issued':
      return d.sentTo ? line('representativeResetIssuedTo', { to: text(d.sentTo) }) : line('representativeResetIssued');
    case 'portal.token_failed':
      return line('tokenFailed', { link, because: because(d.reason) });
    case 'portal.reset_requested':
      return outcome ? line('resetRequested') : line('resetRequestRefused', { reason: reason(d.reason) });
    case 'patient.sign_in':
      return outcome ? line('signedIn') : line('signInFailed', { because: because(d.reason) });
    case 'patient.sign_out':
      return line('signedOut');
    case 'patient.locked_out':
      return line('lockedOut', { minutes, told: patientTold });
    case 'portal.account_unlocked':
      return line('unlocked');
    case 'portal.username_changed':
      return line('usernameChanged', { from: text(d.from), to: text(d.to), told: patientTold });
    case 'patient.email_changed':
      return line('emailChanged', {
        from: d.from ? text(d.from) : say('part.noEmail'),
        to: text(d.to),
        reason: typedReason(d.reason),
        links: revokedLinks,
        oldTold: oldAddressTold,
      });
    case 'patient.email_change_requested':
      if (!outcome) return line('emailRefused', { to: text(d.to), reason: reason(d.reason), shared: sharedWith });
      return line('emailRequested', {
        to: text(d.to),
        reason: typedReason(d.reason),
        approval: part(d.needsApproval, 'waitingApproval'),
        oldTold: oldAddressTold,
      });
    case 'patient.email_change_approved':
      return line('emailApproved', { to: text(d.to) });
    case 'patient.email_change_rejected':
      return line('emailRejected', { to: text(d.to) });
    case 'patient.email_change_confirmed':
      return outcome ? line('emailConfirmed') : line('emailConfirmRefused', { because: because(d.reason) });
    case 'patient.email_change_reported':
      return line('emailReported');
    case 'patient.password_changed':
      if (!outcome) return line('passwordChangeRefused', { reason: reason(d.reason) });
      return line('passwordChanged', {
        sessions: part(count(d.otherSessionsEnded), 'otherSessionsEnded', { count: count(d.otherSessionsEnded) }),
      });
    case 'patient.session_ended':
      return line('sessionEnded', { device: part(d.device, 'device', { device: text(d.device) }) });
    case 'patient.sessions_ended':
      return line('sessionsEnded', { count: Number(d.count ?? 0) });
    case 'patient.second_factor_added':
      if (d.factor === 'passkey')
        return outcome
          ? line('passkeyAdded', { name: text(d.name), told: patientTold })
          : line('passkeyNotAdded', { reason: reason(d.reason) });
      return outcome ? line('appAdded', { told: patientTold }) : line('appFailed');
    case 'patient.second_factor_removed':
      if (!outcome) return line('factorRemoveRefused', { reason: reason(d.reason) });
      return d.factor === 'passkey'
        ? line('passkeyRemoved', { name: text(d.name), told: patientTold })
        : line('appRemoved', { told: patientTold });
    case 'patient.recovery_code_used':
      return line('recoveryCodeUsed', { count: Number(d.remaining ?? 0) });
    case 'patient.recovery_codes_generated':
      return line('recoveryCodesGenerated');
    case 'patient.passkey_renamed':
      return line('passkeyRenamed', { from: text(d.from), name: text(d.name) });
    case 'patient.marked_deceased':
      return line('markedDeceased');
    case 'patient.details_changed':
      return line('detailsChanged', { fields: fieldList('field') });
    case 'patient.imported':
      return line(d.change === 'created' ? 'recordCreated' : 'recordUpdated');
    default:
      return line('other', { action: event.action.replace(/[._]/g, ' ') });
  }
}

/** The events as lines; `describe` picks the voice (staff's by default, or describeForAccountHolder). */
export function describePatientActivity(
  events: AuditRow[],
  describe: (event: AuditRow) => string = describePatientEvent,
): ActivityItem[] {
  return events.map((event) => ({
    occurredAt: event.occurredAt,
    text: describe(event),
    outcome: event.outcome,
    ip: event.ip,
  }));
}

/** "Record viewed 14 times by staff, last by Sam Staff" (the time is shown next to it), in `language`. */
export function describeViews(views: ViewSummary, language = SOURCE_LANGUAGE): string | null {
  if (!views.count) return null;
  const { say } = activityWords(language);
  return say('views', { count: views.count, by: views.lastBy ?? say('actor.staff') });
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
