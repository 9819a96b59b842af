import { IsString, MaxLength, MinLength } from 'class-validator';
import { Match } from '../../common/validation/match.decorator';

export class ChangePasswordDto {
  @IsString()
  @MinLength(1, { message: 'Enter your current password.' })
  @MaxLength(1024)
  currentPassword!: string;

  /** Length and common-password rules live in password-policy.ts (they need the user's context). */
  @IsString()
  @MaxLength(1024, { message: 'Use at most 256 characters.' })
  newPassword!: string;

  @IsString()
  @Match('newPassword', { message: 'The two new passwords do not match.' })
  confirmPassword!: string;
}
