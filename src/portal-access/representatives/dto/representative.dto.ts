import { applyDecorators } from '@nestjs/common';
import { Transform, type TransformFnParams } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Length, Matches, MaxLength, Validate } from 'class-validator';
import { CalendarDate, digitsToNumber, emptyToUndefined } from '../../../common/validation/query-fields';
import { IsSafeEmail } from '../../../common/validation/safe-email.decorator';
import { RELATIONSHIPS, type Relationship } from '../representative-rules';

const oneLine = ({ value }: TransformFnParams) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
const REASON = 'Give a reason (3 to 500 characters); it goes into the audit trail.';

/** The reason every representative change carries into the audit trail. */
const AuditReason = () =>
  applyDecorators(
    Matches(NO_CONTROL_CHARS, { message: 'The reason contains characters that cannot be used.' }),
    Length(3, 500, { message: REASON }),
    Transform(oneLine),
  );

/** The version of the record the form was built from (optimistic locking). */
const FormVersion = () => applyDecorators(IsInt({ message: 'Reload the page and try again.' }), Transform(digitsToNumber));

/** A representative as staff record them on the Patient Portal tab (add and edit). */
export class RepresentativeDto {
  @Transform(oneLine)
  @Length(2, 200, { message: 'Enter the representative’s full name (2 to 200 characters).' })
  @Matches(NO_CONTROL_CHARS, { message: 'The name contains characters that cannot be used.' })
  fullName!: string;

  @IsIn(RELATIONSHIPS, { message: 'Choose the relationship to the patient.' })
  relationship!: Relationship;

  /** The representative's own address: their invite goes there, never to the patient's. */
  @Transform(oneLine)
  @IsSafeEmail('Enter the representative’s own email address.')
  email!: string;

  @Transform(({ value }: TransformFnParams) =>
    typeof value === 'string' && value.trim() === '' ? undefined : oneLine({ value } as TransformFnParams),
  )
  @IsOptional()
  @MaxLength(40, { message: 'The phone number is too long.' })
  @Matches(/^[0-9+()\-. ext]*$/i, { message: 'Enter a phone number with digits, spaces, +, -, ( and ) only.' })
  phone?: string;

  @Transform(oneLine)
  @Length(3, 500, {
    message: 'Describe the basis of the authorisation (3 to 500 characters), e.g. “signed authorisation form, scanned to chart”.',
  })
  @Matches(NO_CONTROL_CHARS, { message: 'The basis contains characters that cannot be used.' })
  basis!: string;

  @Validate(CalendarDate, { message: 'Enter the start date as YYYY-MM-DD.' })
  startsOn!: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Validate(CalendarDate, { message: 'Enter the end date as YYYY-MM-DD, or leave it empty.' })
  endsOn?: string;

  /** The language of their emails and pages; empty: the patient's (checked against the offered ones by the service). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @MaxLength(35, { message: 'Choose a language from the list, or leave it empty.' })
  @Matches(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, { message: 'Choose a language from the list, or leave it empty.' })
  language?: string;

  @IsIn(['yes'], { message: 'Tick the box to confirm that you checked the authorisation.' })
  confirm!: 'yes';

  @AuditReason()
  reason!: string;
}

/** An edit carries the version of the record the form was built from. */
export class EditRepresentativeDto extends RepresentativeDto {
  @FormVersion()
  version!: number;
}

export class RevokeRepresentativeDto {
  @FormVersion()
  version!: number;

  @IsIn(['yes'], { message: 'Tick the box to confirm that this representative’s access should end.' })
  confirm!: 'yes';

  @AuditReason()
  reason!: string;
}
