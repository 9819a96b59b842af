import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { emptyToUndefined, OptionalDate, OptionalId } from '../../common/validation/query-fields';

/** Query string of /admin/audit; empty fields mean "any". */
export class AuditFilterDto {
  /** A patient's name ("Last, First", "First Last" or the start of a name) or MRN, as staff type it. */
  @Transform(({ value }) => (typeof value === 'string' ? value.normalize('NFC').trim() || undefined : value))
  @IsOptional()
  @IsString()
  @MaxLength(100, { message: 'Type at most 100 characters for the patient.' })
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'The patient contains characters that cannot be used.' })
  patient?: string;

  /** Links from a patient's page still filter by its number. */
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
