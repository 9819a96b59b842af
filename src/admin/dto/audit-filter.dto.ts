import { Transform } from 'class-transformer';
import { IsOptional, Matches } from 'class-validator';
import { emptyToUndefined, OptionalDate, OptionalId } from '../../common/validation/query-fields';

/** Query string of /admin/audit; empty fields mean "any". */
export class AuditFilterDto {
  @OptionalId('Patient must be a patient number.')
  patientId?: number;

  @OptionalId('Staff user must be a staff user number.')
  staffUserId?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[a-z_.]{1,64}$/, { message: 'Unknown action.' })
  action?: string;

  @OptionalDate('From must be a date (YYYY-MM-DD).')
  from?: string;

  @OptionalDate('To must be a date (YYYY-MM-DD).')
  to?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\d{1,20}$/, { message: 'Invalid page.' })
  before?: string;
}
