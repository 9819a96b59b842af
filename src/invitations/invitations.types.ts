import { SOURCE_LANGUAGE, translatorFor } from '../i18n/translations';
/**
 * The invitations module's contract with its callers (the onboarding page, the
 * patient dashboard, imports). Implemented by InvitationsService.
 */

/** Why a patient got no email. */
export type InviteSkipReason =
  'deceased' | 'no_email' | 'not_enabled' | 'bounced' | 'unknown_patient' | 'under_self_access_age' | 'shared_email';

const INVITE_SKIP_REASONS: readonly InviteSkipReason[] = [
  'deceased',
  'under_self_access_age',
  'shared_email',
  'no_email',
  'bounced',
  'not_enabled',
  'unknown_patient',
];
/** In English for the CSV report; pages read the same keys (staff.json inviteSkip.<reason>) in the staff language. */
export const INVITE_SKIP_REASON_LABELS = Object.fromEntries(
  INVITE_SKIP_REASONS.map((reason) => [reason, translatorFor(SOURCE_LANGUAGE)(`staff:inviteSkip.${reason}`)]),
) as Record<InviteSkipReason, string>;

export interface InviteSummary {
  /** Set for bulk sends: the emails and audit rows share it; progress is polled by it. */
  batchId: string | null;
  requested: number;
  /** Invites queued (patients without a username). */
  invites: number;
  /** Password-reset emails queued (patients who already have a username). */
  resets: number;
  skipped: Partial<Record<InviteSkipReason, number>>;
  /** Skipped patient ids by reason (for reports and single-patient messages). */
  skippedIds: Partial<Record<InviteSkipReason, number[]>>;
  /**
   * Of invites + resets: patients who already had an unused link of the same kind to the same
   * address from the last few seconds (a double click). No second email is queued for them.
   */
  repeated?: number;
  /** The links this call issued (a reminder records which one it sent). */
  tokenIds?: number[];
  /** Of invites + resets: patients whose latest invite/reset email failed or bounced (the address may be wrong). */
  emailFailed?: number;
}

export interface BatchProgress {
  batchId: string;
  total: number;
  pending: number;
  sent: number;
  failed: number;
  /** Failed emails with the patient and the reason, for the progress box. */
  failures: Array<{ patientId: number | null; toAddress: string; error: string | null }>;
  done: boolean;
}

/** Delivery state of a patient's latest invite/reset email, shown in the onboarding row. */
export interface LatestInvite {
  patientId: number;
  purpose: 'invite' | 'reset';
  delivery: 'queued' | 'sent' | 'failed' | 'cancelled' | 'bounced';
  createdAt: Date;
  sentAt: Date | null;
  expiresAt: Date;
  openedAt: Date | null;
  usedAt: Date | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  failedAt: Date | null;
  bouncedAt: Date | null;
  bounceKind: string | null;
}
