import { ValidationPipe } from '@nestjs/common';
import { FormValidationException } from './form-validation.exception';

/**
 * The one validation pipe: unknown fields are refused (mass assignment), values are
 * converted to the DTO's types, and failures carry per-field messages for the form.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => FormValidationException.fromValidationErrors(errors),
  });
}
