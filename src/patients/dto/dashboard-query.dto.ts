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
