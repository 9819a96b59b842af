import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { FormValidationException } from './form-validation.exception';
import { UnknownFieldsException } from './unknown-fields.exception';

/** Says an unknown name as a setting of the page (query) or a field of the form (body): only `transform` knows which. */
class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    try {
      return await super.transform(value, metadata);
    } catch (error) {
      if (error instanceof UnknownFieldsException && error.source !== metadata.type)
        throw new UnknownFieldsException(error.fields, metadata.type);
      throw error;
    }
  }
}

/**
 * The one validation pipe: unknown fields are refused (mass assignment) in plain words, values are
 * converted to the DTO's types, and failures carry per-field messages for the form.
 */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const unknown = UnknownFieldsException.namesIn(errors);
      return unknown.length ? new UnknownFieldsException(unknown) : FormValidationException.fromValidationErrors(errors);
    },
  });
}
