import { Transform } from 'class-transformer';
import { IsIn, IsOptional } from 'class-validator';
import { emptyToUndefined } from '../../common/validation/query-fields';
import { message } from '../../i18n/messages';

export const DASHBOARD_TABS = ['details', 'portal'] as const;
export type DashboardTab = (typeof DASHBOARD_TABS)[number];

/** Confirmation shown after a change (post/redirect/get): keys of locales/*\/staff.json (saved.<name>), written out at render. */
export const SAVED_MESSAGES = {
  details: message('staff:saved.details'),
  enabled: message('staff:saved.enabled'),
  disabled: message('staff:saved.disabled'),
  invite: message('staff:saved.invite'),
  reset: message('staff:saved.reset'),
  unlocked: message('staff:saved.unlocked'),
  username: message('staff:saved.username'),
  email: message('staff:saved.email'),
  email_confirmation: message('staff:saved.email_confirmation'),
  email_approval: message('staff:saved.email_approval'),
  email_approved: message('staff:saved.email_approved'),
  email_rejected: message('staff:saved.email_rejected'),
  representative_added: message('staff:saved.representative_added'),
  representative_updated: message('staff:saved.representative_updated'),
  representative_revoked: message('staff:saved.representative_revoked'),
  representative_invite: message('staff:saved.representative_invite'),
  representative_reset: message('staff:saved.representative_reset'),
  representative_unlocked: message('staff:saved.representative_unlocked'),
  unchanged: message('staff:saved.unchanged'),
} as const;
export type SavedMessage = keyof typeof SAVED_MESSAGES;

export class DashboardQuery {
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(DASHBOARD_TABS, { message: message('staff:form.unknownTab') })
  tab?: DashboardTab;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['details'], { message: message('staff:form.unknownForm') })
  edit?: 'details';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(Object.keys(SAVED_MESSAGES), { message: message('staff:form.unknownMessage') })
  saved?: SavedMessage;
}
