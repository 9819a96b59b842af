import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { Match } from '../../common/validation/match.decorator';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

/** The first admin's own details; the password rules themselves live in password-policy.ts. */
export class FirstAdminDto {
  @Transform(trim)
  @IsString()
  @Length(1, 100, { message: 'Enter your name (1 to 100 characters).' })
  @Matches(NO_CONTROL_CHARS, { message: 'The name contains characters that cannot be used.' })
  name!: string;

  @Transform(trim)
  @IsEmail({}, { message: 'Enter a valid email address.' })
  @MaxLength(254, { message: 'The email address is too long.' })
  email!: string;

  @IsString()
  @MaxLength(1024, { message: 'Use at most 256 characters.' })
  password!: string;

  @IsString()
  @Match('password', { message: 'The two passwords do not match.' })
  confirmPassword!: string;
}

export class SetupLinkQuery {
  @IsOptional()
  @IsString()
  @MaxLength(100)
  token?: string;
}
