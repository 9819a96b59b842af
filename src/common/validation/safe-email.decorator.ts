import { applyDecorators } from '@nestjs/common';
import { IsEmail, Matches, MaxLength } from 'class-validator';

/** No control characters, spaces or quotes anywhere: class-validator's IsEmail accepts `"x\x0by"@…` (a quoted local part). */
const PLAIN_ADDRESS = /^[^\u0000-\u0020\u007f"\\]+$/;

/** An email address as this app accepts it everywhere: valid, at most 254 characters, nothing that could break a header or a log line. */
export function IsSafeEmail(message = 'Enter a valid email address.') {
  return applyDecorators(
    MaxLength(254, { message: 'The email address is too long.' }),
    Matches(PLAIN_ADDRESS, { message }),
    IsEmail({}, { message }),
  );
}
