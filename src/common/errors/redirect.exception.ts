import { HttpException, HttpStatus } from '@nestjs/common';

/** Send the browser elsewhere (HX-Redirect for htmx), e.g. to the forced password change. */
export class RedirectException extends HttpException {
  constructor(readonly location: string) {
    super('Redirect', HttpStatus.SEE_OTHER);
  }
}
