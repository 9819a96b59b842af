import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { catchError, from, mergeMap, Observable, of } from 'rxjs';
import { lap } from '../../observability/request-timing';
import { FormValidationException } from '../validation/form-validation.exception';
import { isSeeOther, keepForNextPage, redirectSaved, takeFlash } from './flash';
import { isHtmxRequest, wantsHtml } from './htmx';
import { OtherView, renderInstead, VIEW, ViewMetadata } from './view.decorator';

/**
 * Renders what a @View handler returns: the page, or its fragment for htmx; re-renders invalid
 * forms; answers a `seeOther(...)` with 303 (post/redirect/get) and hands its flash to the next page.
 */
@Injectable()
export class ViewInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // Server-Timing (SERVER_TIMING=1): middleware end to here is the guards.
    lap('guard');
    const view = this.reflector.get<ViewMetadata | undefined>(VIEW, context.getHandler());
    if (!view) return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    res.vary('HX-Request');

    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof FormValidationException && view.invalid && wantsHtml(req)) {
          res.status(400);
          // The route's parameters too: a form about one item (e.g. a passkey) re-renders knowing which.
          return of(renderInstead(view.invalid, { errors: error.fieldErrors, values: req.body ?? {}, params: req.params ?? {} }));
        }
        throw error;
      }),
      mergeMap((data) => {
        lap('handler');
        if (res.headersSent || (data === undefined && res.writableEnded)) return of(undefined);
        if (isSeeOther(data)) {
          keepForNextPage(req, data);
          return from(redirectSaved(req, res, data.__seeOther).then(() => undefined));
        }
        const other = data instanceof OtherView ? data : null;
        const model = other ? { ...other.model } : ((data ?? {}) as Record<string, unknown>);
        // A POST that answers with a page is a 200, not Nest's default 201.
        if (res.statusCode === 201) res.status(200);
        const fragment = Boolean(view.fragment && isHtmxRequest(req));
        const template = other?.template ?? (fragment ? view.fragment! : view.page);
        if (!fragment && view.fragment) model.fragmentTemplate = `${view.fragment}.njk`;
        // A full page shows the message a redirect left for it (a fragment leaves it for the page).
        if (!fragment && model.flash === undefined) {
          const flash = takeFlash(req);
          if (flash) model.flash = flash;
        }
        // A fragment may carry out-of-band parts that the full page already has in place.
        return from(render(res, template, { ...model, asFragment: template === view.fragment }));
      }),
    );
  }
}

function render(res: Response, template: string, model: Record<string, unknown>): Promise<undefined> {
  return new Promise((resolve, reject) => {
    res.render(template, model, (error: Error | null, html: string) => {
      if (error) return reject(error);
      lap('render');
      res.type('html').send(html);
      resolve(undefined);
    });
  });
}
