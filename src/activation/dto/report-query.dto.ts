import { IsIn, IsOptional } from 'class-validator';
import type { ReportGrouping } from '../activation-report.repository';

export class ReportQueryDto {
  @IsOptional()
  @IsIn(['provider', 'tag', 'month'], { message: 'Group the report by provider, tag or month.' })
  by?: ReportGrouping;
}
