import { Transform } from 'class-transformer';
import { IsIn, IsOptional } from 'class-validator';
import { emptyToUndefined } from '../../common/validation/query-fields';

export const DASHBOARD_TABS = ['details', 'portal'] as const;
export type DashboardTab = (typeof DASHBOARD_TABS)[number];

/** Confirmation shown after a change (post/redirect/get). */
export const SAVED_MESSAGES = {
  details: 'The patient’s details were saved.',
  enabled: 'Portal access is enabled. Send an invite when the patient is ready.',
  disabled: 'Portal access is disabled. Outstanding links were revoked and the patient’s portal sessions ended.',
  invite: 'An invite email is on its way to the email on file.',
  reset: 'A password-reset email is on its way to the email on file.',
  unlocked: 'The portal account is unlocked.',
  username: 'The username was changed and the patient was told by email.',
  email: 'The email was changed. Earlier links no longer work: send a new invite or password reset to the new address.',
  email_confirmation:
    'A confirmation link was sent to the new address. The email on file changes only when the patient opens it; until then every email still goes to the current address, which was told about the request.',
  email_approval:
    'The change is waiting for a second staff member’s approval. The current address was told about the request; nothing else changes until it is approved and confirmed from the new address.',
  email_approved: 'Approved: a confirmation link was sent to the new address.',
  email_rejected: 'The email change was rejected; the address on file stays as it is.',
  representative_added: 'The representative was added. Invite them to their own portal account when they are ready.',
  representative_updated: 'The representative’s details were saved.',
  representative_revoked:
    'The representative’s access to this patient ended: their links were revoked and their portal sessions ended.',
  representative_invite: 'An invite email is on its way to the representative’s own address.',
  representative_reset: 'A password-reset email is on its way to the representative’s own address.',
  representative_unlocked: 'The representative’s portal sign-in is unlocked.',
  unchanged: 'Nothing needed changing.',
} as const;
export type SavedMessage = keyof typeof SAVED_MESSAGES;

export class DashboardQuery {
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(DASHBOARD_TABS, { message: 'Unknown tab.' })
  tab?: DashboardTab;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['details'], { message: 'Unknown form.' })
  edit?: 'details';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(Object.keys(SAVED_MESSAGES), { message: 'Unknown message.' })
  saved?: SavedMessage;
}
