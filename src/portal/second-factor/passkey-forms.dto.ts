import { IsString, MaxLength } from 'class-validator';

/** Removing a passkey asks for the password again (an empty one is answered on the page, uncounted). */
export class RemovePasskeyDto {
  @IsString()
  @MaxLength(1024)
  currentPassword!: string;
}
