import { applyDecorators } from '@nestjs/common';
import { Transform, type TransformFnParams } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsPositive, IsString, Length, Matches, MaxLength } from 'class-validator';
import { digitsToNumber } from '../../common/validation/query-fields';

const NAME = /^[^\u0000-\u001f\u007f<>{}]*$/;
const clean = ({ value }: TransformFnParams) =>
  typeof value === 'string' ? value.normalize('NFC').trim().replace(/\s+/g, ' ') : value;
/** A multi-select sends one value as a string and several as an array; none at all means "no tags". */
const idList = ({ value }: TransformFnParams) =>
  (value === undefined || value === '' ? [] : Array.isArray(value) ? value : [value]).map((item: unknown) =>
    digitsToNumber({ value: item } as TransformFnParams),
  );

/** A postal address part: its length and characters are checked by the service, and only when it changed (postal-address.ts). */
const AddressPart = () => applyDecorators(IsOptional(), IsString(), MaxLength(256, { message: 'Use at most 100 characters.' }));

/** The basic details staff may edit on the dashboard; `version` detects a concurrent edit. */
export class PatientDetailsDto {
  @Transform(clean)
  @Length(1, 100, { message: 'Enter a first name of 1 to 100 characters.' })
  @Matches(NAME, { message: 'The first name contains characters that cannot be used.' })
  firstName!: string;

  @Transform(clean)
  @Length(1, 100, { message: 'Enter a last name of 1 to 100 characters.' })
  @Matches(NAME, { message: 'The last name contains characters that cannot be used.' })
  lastName!: string;

  // The shape only; the day and its bounds are the one rule in common/time/calendar-date.ts (PatientsService).
  @Matches(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, { message: 'Enter the date of birth as a date (YYYY-MM-DD).' })
  dateOfBirth!: string;

  /** Checked and normalised by the service (normalisePhone) only when it differs from the number on file. */
  @IsOptional()
  @IsString()
  @MaxLength(64, { message: 'Enter a phone number of 7 to 15 digits, e.g. +1 555 010 0100 or (555) 010-0100.' })
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'The phone number contains characters that cannot be used.' })
  phone?: string;

  /** BCP 47; checked against SUPPORTED_LANGUAGES by the service. Empty: not known. */
  @IsOptional()
  @IsString()
  @MaxLength(35, { message: 'Choose a language from the list.' })
  preferredLanguage?: string;
  @AddressPart() addressLine1?: string;
  @AddressPart() addressLine2?: string;
  @AddressPart() addressCity?: string;
  @AddressPart() addressRegion?: string;
  @AddressPart() addressPostalCode?: string;
  @AddressPart() addressCountry?: string;

  @Transform(digitsToNumber)
  @IsOptional()
  @IsInt({ message: 'Choose a provider from the list.' })
  @IsPositive({ message: 'Choose a provider from the list.' })
  primaryProviderId?: number;

  @Transform(idList)
  @IsArray()
  @ArrayMaxSize(50)
  @IsInt({ each: true, message: 'Choose tags from the list.' })
  @IsPositive({ each: true, message: 'Choose tags from the list.' })
  tagIds: number[] = [];

  @Transform(digitsToNumber)
  @IsInt({ message: 'Reload the page and try again.' })
  version!: number;
}
