import { applyDecorators } from '@nestjs/common';
import { Transform, type TransformFnParams } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { isCalendarDate } from '../time/calendar-date';

/** An empty form field means "no filter"; anything else is validated as sent (arrays stay arrays and fail). */
export const emptyToUndefined = ({ value }: TransformFnParams) => (value === '' ? undefined : value);

/** "123" → 123; anything else is left for the validators to refuse (arrays, "1e3", "-1"). */
export const digitsToNumber = ({ value }: TransformFnParams) =>
  value === '' ? undefined : typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;

/** A real calendar day written YYYY-MM-DD (2025-02-30 is refused). */
@ValidatorConstraint({ name: 'calendarDate' })
export class CalendarDate implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isCalendarDate(value);
  }

  defaultMessage(): string {
    return '$property must be a date written as YYYY-MM-DD.';
  }
}

/** An optional positive database id in a query string or form. */
export const OptionalId = (message: string) =>
  applyDecorators(
    Transform(digitsToNumber),
    IsOptional(),
    IsInt({ message }),
    Min(1, { message }),
    Max(2_147_483_647, { message }),
  );

/** An optional calendar date (YYYY-MM-DD) in a query string or form. */
export const OptionalDate = (message?: string) =>
  applyDecorators(Transform(emptyToUndefined), IsOptional(), Validate(CalendarDate, message ? { message } : undefined));
