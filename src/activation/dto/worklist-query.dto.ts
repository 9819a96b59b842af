import { IsIn, IsOptional } from 'class-validator';
import { WORKLIST_PAGE_VIEWS, type WorklistPageView } from '../../portal-access/activation-filters';

export class WorklistQueryDto {
  @IsOptional()
  @IsIn(WORKLIST_PAGE_VIEWS, { message: 'Choose one of the worklist views.' })
  view?: WorklistPageView;
}
