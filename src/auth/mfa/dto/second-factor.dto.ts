import { Transform } from 'class-transformer';
import { IsIn, IsObject, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
import { message } from '../../../i18n/messages';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

/** A 6-digit code from the app, or a recovery code (the service tells them apart). */
export class SecondFactorCodeDto {
  @IsString()
  @MinLength(1, { message: message('messages:secondFactor.enterCode') })
  @MaxLength(64, { message: message('messages:secondFactor.codeTooLong') })
  code!: string;
}

export class PasskeyNameDto {
  @Transform(trim)
  @IsString()
  @Length(1, 100, { message: message('messages:passkey.name') })
  @Matches(NO_CONTROL_CHARS, { message: message('messages:passkey.nameCharacters') })
  name!: string;
}

/** The browser's answer to the registration options (checked by @simplewebauthn/server). */
export class PasskeyRegistrationDto extends PasskeyNameDto {
  @IsObject()
  response!: Record<string, unknown>;
}

export class PasskeyAssertionDto {
  @IsObject()
  response!: Record<string, unknown>;
}

/** The portal accounts' policy: a second factor offered (optional) or required. */
export class PortalMfaPolicyDto {
  @IsIn(['offer', 'require'], { message: message('staff:form.patientSecondFactorPolicy') })
  patientSecondFactor!: 'offer' | 'require';
}

export class MfaPolicyDto {
  @IsIn(['true', 'false'], { message: message('staff:form.requireSecondFactorTrueOrFalse') })
  requireSecondFactor!: 'true' | 'false';
}
