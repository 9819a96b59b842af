import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { Match } from '../../common/validation/match.decorator';

/** Lengths are capped here; the password rules need the account's context (PortalAccountService). */
export class PortalChangePasswordDto {
  @IsString()
  @MinLength(1, { message: 'Enter your current password.' })
  @MaxLength(1024)
  currentPassword!: string;

  @IsString()
  @MaxLength(1024, { message: 'Use at most 256 characters.' })
  newPassword!: string;

  @IsString()
  @MaxLength(1024)
  @Match('newPassword', { message: 'The two new passwords do not match.' })
  confirmPassword!: string;
}

/** A session's handle as the account page lists it (32 hex characters, never the session id). */
export class SessionHandleParam {
  @Matches(/^[0-9a-f]{32}$/, { message: 'Unknown session.' })
  handle!: string;
}
