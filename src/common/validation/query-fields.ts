import { applyDecorators } from '@nestjs/common';
import { Transform, type TransformFnParams } from 'class-transformer';
import { IsInt, IsOptional, IsPositive, Matches } from 'class-validator';

/** A GET form sends empty fields as ""; for filters that means "any". */
export const emptyToUndefined = ({ value }: TransformFnParams) => (value === '' ? undefined : value);

/** "123" → 123; anything else is left for the validators to refuse (arrays, "1e3", "-1"). */
export const digitsToNumber = ({ value }: TransformFnParams) => (value === '' ? undefined : typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value);

/** An optional positive id in a query string. */
export const OptionalId = (message: string) => applyDecorators(Transform(digitsToNumber), IsOptional(), IsInt({ message }), IsPositive({ message }));

/** An optional calendar date (YYYY-MM-DD) in a query string. */
export const OptionalDate = (message: string) =>
  applyDecorators(Transform(emptyToUndefined), IsOptional(), Matches(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, { message }));
