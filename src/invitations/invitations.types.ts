/**
 * The invitations module's contract with its callers (the onboarding page, the
 * patient dashboard, imports). Implemented by InvitationsService.
 */

/** Why a patient got no email. */
export type InviteSkipReason =
  'deceased' | 'no_email' | 'not_enabled' | 'bounced' | 'unknown_patient' | 'under_self_access_age' | 'shared_email';

export const INVITE_SKIP_REASON_LABELS: Record<InviteSkipReason, string> = {
  deceased: 'deceased',
  under_self_access_age: 'under the self-access age (invite a parent or guardian as their representative instead)',
  shared_email:
    'email shared with another patient, a representative or staff (invite them one by one from the Patient Portal tab)',
  no_email: 'no email on file',
  bounced: 'email address bounced',
  not_enabled: 'access not enabled',
  unknown_patient: 'patient not found',
};

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
