import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { Match } from '../../common/validation/match.decorator';
import { message } from '../../i18n/messages';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

/** The first admin's own details; the password rules themselves live in password-policy.ts. */
export class FirstAdminDto {
  @Transform(trim)
  @IsString()
  @Length(1, 100, { message: message('staff:form.setupName') })
  @Matches(NO_CONTROL_CHARS, { message: message('staff:form.nameCharacters') })
  name!: string;

  @Transform(trim)
  @IsEmail({}, { message: message('messages:email.invalid') })
  @MaxLength(254, { message: message('messages:email.tooLong') })
  email!: string;

  @IsString()
  @MaxLength(1024, { message: message('messages:tooLong', { max: 256 }) })
  password!: string;

  @IsString()
  @Match('password', { message: message('messages:password.mismatch') })
  confirmPassword!: string;
}

export class SetupLinkQuery {
  @IsOptional()
  @IsString()
  @MaxLength(100)
  token?: string;
}
