import { applyDecorators } from '@nestjs/common';
import { Transform, type TransformFnParams } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsPositive, IsString, Length, Matches, MaxLength } from 'class-validator';
import { digitsToNumber } from '../../common/validation/query-fields';
import { message } from '../../i18n/messages';

const NAME = /^[^\u0000-\u001f\u007f<>{}]*$/;
const clean = ({ value }: TransformFnParams) =>
  typeof value === 'string' ? value.normalize('NFC').trim().replace(/\s+/g, ' ') : value;
/** A multi-select sends one value as a string and several as an array; none at all means "no tags". */
const idList = ({ value }: TransformFnParams) =>
  (value === undefined || value === '' ? [] : Array.isArray(value) ? value : [value]).map((item: unknown) =>
    digitsToNumber({ value: item } as TransformFnParams),
  );

/** A postal address part: its length and characters are checked by the service, and only when it changed (postal-address.ts). */
const AddressPart = () => applyDecorators(IsOptional(), IsString(), MaxLength(256, { message: message('staff:form.atMost100') }));

/** The basic details staff may edit on the dashboard; `version` detects a concurrent edit. */
export class PatientDetailsDto {
  @Transform(clean)
  @Length(1, 100, { message: message('staff:form.firstName') })
  @Matches(NAME, { message: message('staff:form.firstNameCharacters') })
  firstName!: string;

  @Transform(clean)
  @Length(1, 100, { message: message('staff:form.lastName') })
  @Matches(NAME, { message: message('staff:form.lastNameCharacters') })
  lastName!: string;

  // The shape only; the day and its bounds are the one rule in common/time/calendar-date.ts (PatientsService).
  @Matches(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, { message: message('staff:form.dateOfBirth') })
  dateOfBirth!: string;

  /** Checked and normalised by the service (normalisePhone) only when it differs from the number on file. */
  @IsOptional()
  @IsString()
  @MaxLength(64, { message: message('staff:form.phone') })
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: message('staff:form.phoneCharacters') })
  phone?: string;

  /** BCP 47; checked against SUPPORTED_LANGUAGES by the service. Empty: not known. */
  @IsOptional()
  @IsString()
  @MaxLength(35, { message: message('staff:form.language') })
  preferredLanguage?: string;
  @AddressPart() addressLine1?: string;
  @AddressPart() addressLine2?: string;
  @AddressPart() addressCity?: string;
  @AddressPart() addressRegion?: string;
  @AddressPart() addressPostalCode?: string;
  @AddressPart() addressCountry?: string;

  @Transform(digitsToNumber)
  @IsOptional()
  @IsInt({ message: message('staff:form.provider') })
  @IsPositive({ message: message('staff:form.provider') })
  primaryProviderId?: number;

  @Transform(idList)
  @IsArray()
  @ArrayMaxSize(50)
  @IsInt({ each: true, message: message('staff:form.tags') })
  @IsPositive({ each: true, message: message('staff:form.tags') })
  tagIds: number[] = [];

  @Transform(digitsToNumber)
  @IsInt({ message: message('staff:form.reload') })
  version!: number;
}
