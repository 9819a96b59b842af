import { SetMetadata } from '@nestjs/common';

export const VIEW = 'view';

export interface ViewOptions {
  /**
   * Template rendered alone when htmx asks (HX-Request), e.g. the results table of a filtered list.
   * The full page receives its name as `fragmentTemplate`, so a page wrapping "the fragment, in the
   * layout" (a no-JavaScript answer) includes it without naming it a second time.
   */
  fragment?: string;
  /** Template re-rendered with `errors` and `values` when the request's DTO fails validation (status 400). */
  invalid?: string;
}

export interface ViewMetadata extends ViewOptions {
  page: string;
}

/**
 * What a @View handler returns to answer with a template other than its page or fragment, e.g. the
 * dead-link page or a form re-rendered with its errors. The one way to pick a template at run time.
 */
export class OtherView {
  constructor(
    readonly template: string,
    readonly model: Record<string, unknown> = {},
  ) {}
}

export const renderInstead = (template: string, model: Record<string, unknown> = {}) => new OtherView(template, model);

/**
 * The handler returns the data of a template; ViewInterceptor decides between the
 * full page and the htmx fragment in one place (and sets Vary: HX-Request).
 */
export const View = (page: string, options: ViewOptions = {}) => SetMetadata(VIEW, { page, ...options } satisfies ViewMetadata);
