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
