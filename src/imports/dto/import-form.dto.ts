import { IsIn, IsOptional } from 'class-validator';
import { message } from '../../i18n/messages';

/** The import form's tick boxes (the file itself arrives through multer). */
export class ImportFormDto {
  @IsOptional()
  @IsIn(['yes'], { message: message('staff:imports.form.dryRun') })
  dryRun?: 'yes';

  @IsOptional()
  @IsIn(['yes'], { message: message('staff:imports.form.skipInvalid') })
  skipInvalid?: 'yes';
}
