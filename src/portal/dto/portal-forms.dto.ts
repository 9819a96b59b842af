import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Lengths are capped here; the username and password rules need the patient's context (PatientAccountsService). */
export class SetPasswordDto {
  @IsOptional()
  @IsString()
  @MaxLength(256, { message: 'Use at most 64 characters.' })
  username?: string;

  @IsString()
  @MaxLength(1024, { message: 'Use at most 256 characters.' })
  password!: string;

  @IsString()
  @MaxLength(1024)
  confirmPassword!: string;
}

export class PortalLoginPageQuery {
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  next?: string;
}

export class PortalLoginDto extends PortalLoginPageQuery {
  @IsString()
  @MaxLength(256)
  username!: string;

  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class ForgotPasswordDto {
  @IsString()
  @MaxLength(254, { message: 'Use at most 254 characters.' })
  identifier!: string;
}

/** The identity-check step; which fields are asked depends on the link (IdentityCheckService). */
export class IdentityAnswersDto {
  @IsOptional()
  @IsString()
  @MaxLength(32)
  dateOfBirth?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  representativeLastName?: string;
}

/** The password form of an activation link: an email address may be added (confirmed by a link sent to it). */
export class ActivateDto extends SetPasswordDto {
  @IsOptional()
  @IsString()
  @MaxLength(254, { message: 'The email address is too long.' })
  email?: string;
}

/** The activation code typed at /portal/activate (8 characters; dashes and spaces are ignored). */
export class ActivationCodeDto {
  @IsString()
  @MaxLength(32, { message: 'Enter the 8-character code from the clinic or your letter.' })
  code!: string;
}
