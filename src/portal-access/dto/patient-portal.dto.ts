import { Transform, type TransformFnParams } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { IsSafeEmail } from '../../common/validation/safe-email.decorator';
import { digitsToNumber } from '../../common/validation/query-fields';
import { message } from '../../i18n/messages';

const oneLine = ({ value }: TransformFnParams) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

/** The version of the record the form was built from (optimistic locking). */
export class VersionedDto {
  @Transform(digitsToNumber)
  @IsInt({ message: message('staff:form.reload') })
  version!: number;
}

export class DisableAccessDto extends VersionedDto {
  @IsIn(['yes'], { message: message('staff:form.confirmDisable') })
  confirm!: 'yes';

  @Transform(oneLine)
  @Length(3, 500, { message: message('staff:form.reason') })
  @Matches(NO_CONTROL_CHARS, { message: message('staff:form.reasonCharacters') })
  reason!: string;
}

export class ChangeUsernameDto extends VersionedDto {
  @Transform(oneLine)
  @IsString()
  @MaxLength(64, { message: message('staff:form.username') })
  username!: string;
}

export class ChangeEmailDto extends VersionedDto {
  @Transform(oneLine)
  @IsSafeEmail()
  email!: string;

  @IsIn(['yes'], { message: message('staff:form.confirmVerified') })
  verified!: 'yes';

  @Transform(oneLine)
  @Length(3, 500, { message: message('staff:form.reason') })
  @Matches(NO_CONTROL_CHARS, { message: message('staff:form.reasonCharacters') })
  reason!: string;

  /** The requester's own password, re-entered: a left-open session is not enough to redirect a patient's mail. */
  @IsString({ message: message('staff:form.ownPassword') })
  @Length(1, 1024, { message: message('staff:form.ownPassword') })
  password!: string;
}

/** "Show activation code": only after staff ticked that they checked the photo ID. */
export class ShowActivationCodeDto {
  @IsIn(['yes'], { message: message('staff:form.photoIdPatient') })
  photoIdChecked!: string;
}

/** "Show activation code" on a representative's row: their own photo ID, checked at the desk. */
export class ShowRepresentativeCodeDto {
  @IsIn(['yes'], { message: message('staff:form.photoIdRepresentative') })
  photoIdChecked!: string;
}

/** The tab's invite button; an address shared with others needs the ticked confirmation and a reason (issue 16). */
export class TabInviteDto {
  @IsOptional()
  @IsIn(['yes'], { message: message('staff:form.confirm') })
  confirmShared?: 'yes';

  @Transform(oneLine)
  @IsOptional()
  @MaxLength(500, { message: message('staff:form.reason') })
  @Matches(NO_CONTROL_CHARS, { message: message('staff:form.reasonCharacters') })
  sharedReason?: string;
}
