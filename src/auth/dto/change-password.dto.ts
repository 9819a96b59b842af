import { IsString, MaxLength, MinLength } from 'class-validator';
import { Match } from '../../common/validation/match.decorator';
import { message } from '../../i18n/messages';
import { PASSWORD_MAX_LENGTH } from '../passwords/password-policy';

const INVALID = message('messages:invalid');

export class ChangePasswordDto {
  @IsString({ message: INVALID })
  @MinLength(1, { message: message('messages:password.enterCurrent') })
  @MaxLength(1024, { message: INVALID })
  currentPassword!: string;

  /** Length and common-password rules live in password-policy.ts (they need the user's context). */
  @IsString({ message: INVALID })
  @MaxLength(1024, { message: message('messages:password.tooLong', { max: PASSWORD_MAX_LENGTH }) })
  newPassword!: string;

  @IsString({ message: INVALID })
  @Match('newPassword', { message: message('messages:password.newMismatch') })
  confirmPassword!: string;
}
