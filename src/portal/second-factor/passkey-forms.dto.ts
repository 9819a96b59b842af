import { Transform } from 'class-transformer';
import { IsString, Length, Matches, MaxLength } from 'class-validator';
import { message } from '../../i18n/messages';

/** Removing a passkey asks for the password again (an empty one is answered on the page, uncounted). */
export class RemovePasskeyDto {
  @IsString()
  @MaxLength(1024)
  currentPassword!: string;
}

/** A passkey's new name: trimmed, 1 to 100 characters (the column's width), no control characters. */
export class PortalPasskeyNameDto {
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value))
  @IsString({ message: message('portal:passkeys.errors.nameLength') })
  @Length(1, 100, { message: message('portal:passkeys.errors.nameLength') })
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: message('portal:passkeys.errors.nameCharacters') })
  name!: string;
}
