import { applyDecorators } from '@nestjs/common';
import { IsEmail, Matches, MaxLength } from 'class-validator';
import { message } from '../../i18n/messages';

/** No control characters, spaces or quotes anywhere: class-validator's IsEmail accepts `"x\x0by"@…` (a quoted local part). */
const PLAIN_ADDRESS = /^[^\u0000-\u0020\u007f"\\]+$/;

/** An email address as this app accepts it everywhere: valid, at most 254 characters, nothing that could break a header or a log line. */
export function IsSafeEmail(invalid = message('messages:email.invalid')) {
  return applyDecorators(
    MaxLength(254, { message: message('messages:email.tooLong') }),
    Matches(PLAIN_ADDRESS, { message: invalid }),
    IsEmail({}, { message: invalid }),
  );
}
