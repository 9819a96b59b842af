import { IsIn, IsOptional } from 'class-validator';
import { WORKLIST_VIEWS, type WorklistView } from '../../portal-access/activation-filters';

export class WorklistQueryDto {
  @IsOptional()
  @IsIn(WORKLIST_VIEWS, { message: 'Choose one of the worklist views.' })
  view?: WorklistView;
}
