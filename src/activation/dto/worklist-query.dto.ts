import { IsIn, IsOptional } from 'class-validator';
import { message } from '../../i18n/messages';
import { WORKLIST_PAGE_VIEWS, type WorklistPageView } from '../../portal-access/activation-filters';

export class WorklistQueryDto {
  @IsOptional()
  @IsIn(WORKLIST_PAGE_VIEWS, { message: message('staff:worklist.badView') })
  view?: WorklistPageView;
}
