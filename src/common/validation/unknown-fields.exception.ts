import { BadRequestException, type Paramtype, type ValidationError } from '@nestjs/common';
import { message } from '../../i18n/messages';

/**
 * A request named a query parameter or form field its DTO does not have (the whitelist refuses them: mass
 * assignment). It is no form mistake the user can fix on the page, so it is an error page (or flash, or JSON),
 * said in plain words in the page's language: "This page has no setting called “x”." Nothing was changed.
 */
export class UnknownFieldsException extends BadRequestException {
  constructor(
    readonly fields: string[],
    readonly source: Paramtype = 'body',
  ) {
    super({
      statusCode: 400,
      error: 'Bad Request',
      // A tampered request may name many: the first few are enough to say what is wrong.
      message: fields.slice(0, 3).map((name) =>
        message(source === 'query' ? 'staff:refusal.unknownSetting' : 'staff:refusal.unknownField', {
          name: name.slice(0, 60),
        }),
      ),
    });
  }

  /** The names the whitelist refused ("address.extra" for a nested one), or none. */
  static namesIn(errors: ValidationError[], prefix = ''): string[] {
    return errors.flatMap((error) => [
      ...(error.constraints?.whitelistValidation ? [prefix + error.property] : []),
      ...UnknownFieldsException.namesIn(error.children ?? [], `${prefix}${error.property}.`),
    ]);
  }
}
