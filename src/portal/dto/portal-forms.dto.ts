import { IsOptional, IsString, MaxLength } from 'class-validator';
import { message } from '../../i18n/messages';
import { PASSWORD_MAX_LENGTH } from '../../auth/passwords/password-policy';
import { USERNAME_MAX } from '../../portal-access/usernames';

/** What a crafted request (an array, an overlong hidden field) is told, in the patient's language. */
const INVALID = message('messages:invalid');

/** Lengths are capped here; the username and password rules need the patient's context (PatientAccountsService). */
export class SetPasswordDto {
  @IsOptional()
  @IsString({ message: INVALID })
  @MaxLength(256, { message: message('messages:username.tooLong', { max: USERNAME_MAX }) })
  username?: string;

  @IsString({ message: INVALID })
  @MaxLength(1024, { message: message('messages:password.tooLong', { max: PASSWORD_MAX_LENGTH }) })
  password!: string;

  @IsString({ message: INVALID })
  @MaxLength(1024, { message: INVALID })
  confirmPassword!: string;
}

export class PortalLoginPageQuery {
  @IsOptional()
  @IsString({ message: INVALID })
  @MaxLength(2000, { message: INVALID })
  next?: string;
}

export class PortalLoginDto extends PortalLoginPageQuery {
  @IsString({ message: INVALID })
  @MaxLength(256, { message: INVALID })
  username!: string;

  @IsString({ message: INVALID })
  @MaxLength(1024, { message: INVALID })
  password!: string;
}

export class ForgotPasswordDto {
  @IsString({ message: INVALID })
  @MaxLength(254, { message: message('messages:tooLong', { max: 254 }) })
  identifier!: string;
}

/** The identity-check step; which fields are asked depends on the link (IdentityCheckService). */
export class IdentityAnswersDto {
  @IsOptional()
  @IsString({ message: INVALID })
  @MaxLength(32, { message: INVALID })
  dateOfBirth?: string;

  @IsOptional()
  @IsString({ message: INVALID })
  @MaxLength(256, { message: INVALID })
  representativeLastName?: string;
}

/** The password form of an activation link: an email address may be added (confirmed by a link sent to it). */
export class ActivateDto extends SetPasswordDto {
  @IsOptional()
  @IsString({ message: INVALID })
  @MaxLength(254, { message: message('messages:email.tooLong') })
  email?: string;
}

/** The activation code typed at /portal/activate (8 characters; dashes and spaces are ignored). */
export class ActivationCodeDto {
  @IsString({ message: INVALID })
  @MaxLength(32, { message: message('messages:activationCode.format') })
  code!: string;
}
