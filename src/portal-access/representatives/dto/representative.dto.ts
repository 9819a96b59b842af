import { applyDecorators } from '@nestjs/common';
import { Transform, type TransformFnParams } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Length, Matches, MaxLength, Validate } from 'class-validator';
import { CalendarDate, digitsToNumber, emptyToUndefined } from '../../../common/validation/query-fields';
import { IsSafeEmail } from '../../../common/validation/safe-email.decorator';
import { RELATIONSHIPS, type Relationship } from '../representative-rules';
import { message } from '../../../i18n/messages';

const oneLine = ({ value }: TransformFnParams) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
const REASON = message('staff:form.reason');

/** The reason every representative change carries into the audit trail. */
const AuditReason = () =>
  applyDecorators(
    Matches(NO_CONTROL_CHARS, { message: message('staff:form.reasonCharacters') }),
    Length(3, 500, { message: REASON }),
    Transform(oneLine),
  );

/** The version of the record the form was built from (optimistic locking). */
const FormVersion = () => applyDecorators(IsInt({ message: message('staff:form.reload') }), Transform(digitsToNumber));

/** A representative as staff record them on the Patient Portal tab (add and edit). */
export class RepresentativeDto {
  @Transform(oneLine)
  @Length(2, 200, { message: message('staff:form.representativeName') })
  @Matches(NO_CONTROL_CHARS, { message: message('staff:form.nameCharacters') })
  fullName!: string;

  @IsIn(RELATIONSHIPS, { message: message('staff:form.relationship') })
  relationship!: Relationship;

  /** The representative's own address: their invite goes there, never to the patient's. */
  @Transform(oneLine)
  @IsSafeEmail(message('staff:form.representativeEmail'))
  email!: string;

  @Transform(({ value }: TransformFnParams) =>
    typeof value === 'string' && value.trim() === '' ? undefined : oneLine({ value } as TransformFnParams),
  )
  @IsOptional()
  @MaxLength(40, { message: message('staff:form.phoneTooLong') })
  @Matches(/^[0-9+()\-. ext]*$/i, { message: message('staff:form.representativePhone') })
  phone?: string;

  @Transform(oneLine)
  @Length(3, 500, {
    message: message('staff:form.basis'),
  })
  @Matches(NO_CONTROL_CHARS, { message: message('staff:form.basisCharacters') })
  basis!: string;

  @Validate(CalendarDate, { message: message('staff:form.startsOn') })
  startsOn!: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Validate(CalendarDate, { message: message('staff:form.endsOn') })
  endsOn?: string;

  /** The language of their emails and pages; empty: the patient's (checked against the offered ones by the service). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @MaxLength(35, { message: message('staff:form.languageOrEmpty') })
  @Matches(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, { message: message('staff:form.languageOrEmpty') })
  language?: string;

  @IsIn(['yes'], { message: message('staff:form.confirmAuthorisation') })
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

  @IsIn(['yes'], { message: message('staff:form.confirmRevoke') })
  confirm!: 'yes';

  @AuditReason()
  reason!: string;
}
