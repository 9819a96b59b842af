import { Transform } from 'class-transformer';
import { IsIn, IsOptional } from 'class-validator';
import { emptyToUndefined } from '../../common/validation/query-fields';

export const DASHBOARD_TABS = ['details', 'portal'] as const;

export class DashboardQuery {
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(DASHBOARD_TABS, { message: 'Unknown tab.' })
  tab?: (typeof DASHBOARD_TABS)[number];

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['details'], { message: 'Unknown form.' })
  edit?: 'details';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['details', 'portal'], { message: 'Unknown message.' })
  saved?: 'details' | 'portal';
}
