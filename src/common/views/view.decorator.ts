import { SetMetadata } from '@nestjs/common';

export const VIEW = 'view';

export interface ViewOptions {
  /** Template rendered alone when htmx asks (HX-Request), e.g. the results table of a filtered list. */
  fragment?: string;
  /** Template re-rendered with `errors` and `values` when the request's DTO fails validation (status 400). */
  invalid?: string;
}

export interface ViewMetadata extends ViewOptions {
  page: string;
}

/**
 * The handler returns the data of a template; ViewInterceptor decides between the
 * full page and the htmx fragment in one place (and sets Vary: HX-Request).
 */
export const View = (page: string, options: ViewOptions = {}) => SetMetadata(VIEW, { page, ...options } satisfies ViewMetadata);
