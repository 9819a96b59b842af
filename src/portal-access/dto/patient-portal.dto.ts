import { Transform, type TransformFnParams } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { IsSafeEmail } from '../../common/validation/safe-email.decorator';
import { digitsToNumber } from '../../common/validation/query-fields';

const oneLine = ({ value }: TransformFnParams) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

/** The version of the record the form was built from (optimistic locking). */
export class VersionedDto {
  @Transform(digitsToNumber)
  @IsInt({ message: 'Reload the page and try again.' })
  version!: number;
}

export class DisableAccessDto extends VersionedDto {
  @IsIn(['yes'], { message: 'Tick the box to confirm that access should be turned off.' })
  confirm!: 'yes';

  @Transform(oneLine)
  @Length(3, 500, { message: 'Give a reason (3 to 500 characters); it goes into the audit trail.' })
  @Matches(NO_CONTROL_CHARS, { message: 'The reason contains characters that cannot be used.' })
  reason!: string;
}

export class ChangeUsernameDto extends VersionedDto {
  @Transform(oneLine)
  @IsString()
  @MaxLength(64, { message: 'Use 3 to 64 characters.' })
  username!: string;
}

export class ChangeEmailDto extends VersionedDto {
  @Transform(oneLine)
  @IsSafeEmail()
  email!: string;

  @IsIn(['yes'], { message: 'Confirm that you verified this change with the patient (or their authorised representative).' })
  verified!: 'yes';

  @Transform(oneLine)
  @Length(3, 500, { message: 'Give a reason (3 to 500 characters); it goes into the audit trail.' })
  @Matches(NO_CONTROL_CHARS, { message: 'The reason contains characters that cannot be used.' })
  reason!: string;

  /** The requester's own password, re-entered: a left-open session is not enough to redirect a patient's mail. */
  @IsString({ message: 'Enter your password to confirm this change.' })
  @Length(1, 1024, { message: 'Enter your password to confirm this change.' })
  password!: string;
}

/** "Show activation code": only after staff ticked that they checked the photo ID. */
export class ShowActivationCodeDto {
  @IsIn(['yes'], { message: "Tick that you checked the patient's photo ID." })
  photoIdChecked!: string;
}

/** "Show activation code" on a representative's row: their own photo ID, checked at the desk. */
export class ShowRepresentativeCodeDto {
  @IsIn(['yes'], { message: "Tick that you checked the representative's photo ID." })
  photoIdChecked!: string;
}

/** The tab's invite button; an address shared with others needs the ticked confirmation and a reason (issue 16). */
export class TabInviteDto {
  @IsOptional()
  @IsIn(['yes'], { message: 'Tick the box to confirm.' })
  confirmShared?: 'yes';

  @Transform(oneLine)
  @IsOptional()
  @MaxLength(500, { message: 'Give a reason (3 to 500 characters); it goes into the audit trail.' })
  @Matches(NO_CONTROL_CHARS, { message: 'The reason contains characters that cannot be used.' })
  sharedReason?: string;
}
