import { IsIn, IsOptional } from 'class-validator';
import { message } from '../../i18n/messages';
import type { ReportGrouping } from '../activation-report.repository';

export class ReportQueryDto {
  @IsOptional()
  @IsIn(['provider', 'tag', 'month'], { message: message('staff:activationReport.badGrouping') })
  by?: ReportGrouping;
}
