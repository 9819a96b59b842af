import { HttpException } from '@nestjs/common';
import type { Request } from 'express';
import { translatorFor } from '../../i18n/translations';

/** An exception message that is an i18n key of the portal's texts ("portal:passkeys.errors.refused"). */
const PORTAL_KEY = /^portal:[A-Za-z0-9_.]+$/;

/** The patient's language for this request (set for every portal page in app.setup.ts). */
export const translatorOf = (req: Request) => translatorFor(req.res?.locals.lang as string);

/**
 * Runs `work`; an HttpException whose message is a portal key is rethrown with the text in the
 * patient's language (the JSON answers of the passkey ceremonies show it as is).
 */
export async function inPatientLanguage<T>(req: Request, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof HttpException && PORTAL_KEY.test(error.message))
      throw new HttpException(translatorOf(req)(error.message), error.getStatus());
    throw error;
  }
}
