import { IsIn, IsOptional } from 'class-validator';

/** The import form's tick boxes (the file itself arrives through multer). */
export class ImportFormDto {
  @IsOptional()
  @IsIn(['yes'], { message: 'Dry run is a tick box.' })
  dryRun?: 'yes';

  @IsOptional()
  @IsIn(['yes'], { message: '"Import the valid rows and skip the rest" is a tick box.' })
  skipInvalid?: 'yes';
}
