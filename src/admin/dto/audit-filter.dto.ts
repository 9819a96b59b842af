import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { emptyToUndefined, OptionalDate, OptionalId } from '../../common/validation/query-fields';
import { message } from '../../i18n/messages';

/** Query string of /admin/audit; empty fields mean "any". */
export class AuditFilterDto {
  /** A patient's name ("Last, First", "First Last" or the start of a name) or MRN, as staff type it. */
  @Transform(({ value }) => (typeof value === 'string' ? value.normalize('NFC').trim() || undefined : value))
  @IsOptional()
  @IsString()
  @MaxLength(100, { message: message('staff:form.auditPatientLength') })
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: message('staff:form.auditPatientCharacters') })
  patient?: string;

  /** Links from a patient's page still filter by its number. */
  @OptionalId(message('staff:form.auditPatientId'))
  patientId?: number;

  @OptionalId(message('staff:form.auditStaffUserId'))
  staffUserId?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[a-z_.]{1,64}$/, { message: message('staff:form.auditAction') })
  action?: string;

  @OptionalDate(message('staff:form.auditFrom'))
  from?: string;

  @OptionalDate(message('staff:form.auditTo'))
  to?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\d{1,20}$/, { message: message('staff:form.auditPage') })
  before?: string;
}
