import { UnauthorizedException } from '@nestjs/common';

/** No (valid) session: browsers go to the sign-in page, htmx gets HX-Redirect, APIs get 401. */
export class SignInRequiredException extends UnauthorizedException {
  constructor(readonly loginPath: '/login' | '/portal/login' = '/login') {
    super('Please sign in.');
  }
}
