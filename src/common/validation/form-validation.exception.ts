import { BadRequestException, ValidationError } from '@nestjs/common';

export type FieldErrors = Record<string, string[]>;

/** A DTO failed validation: carries the messages per field so the form can show them. */
export class FormValidationException extends BadRequestException {
  constructor(readonly fieldErrors: FieldErrors) {
    super({ statusCode: 400, error: 'Bad Request', message: Object.values(fieldErrors).flat() });
  }

  static fromValidationErrors(errors: ValidationError[]): FormValidationException {
    const fieldErrors: FieldErrors = {};
    const walk = (list: ValidationError[], prefix: string) => {
      for (const error of list) {
        const field = prefix + error.property;
        if (error.constraints) fieldErrors[field] = Object.values(error.constraints);
        if (error.children?.length) walk(error.children, `${field}.`);
      }
    };
    walk(errors, '');
    return new FormValidationException(fieldErrors);
  }
}
