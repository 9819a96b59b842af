import { FormValidationException } from '../common/validation/form-validation.exception';
import { message } from '../i18n/messages';

/** What staff may type for a phone number: digits with the usual separators, a leading + for international. */
const PHONE = /^\+?[0-9(][0-9 ()-]*$/;

/**
 * Normalises a phone number typed by staff: spaces collapsed, dots and slashes shown as spaces,
 * "(555)" kept; 7 to 15 digits (E.164's maximum). Empty means "no phone on file" (null).
 * Searching compares digits only, so the separators are for reading, not matching.
 */
export function normalisePhone(typed: string): string | null {
  const value = typed
    .normalize('NFKC')
    .trim()
    .replace(/[./]/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\s*-\s*/g, '-');
  if (value === '') return null;
  const digits = value.replace(/\D/g, '').length;
  if (!PHONE.test(value) || digits < 7 || digits > 15 || value.length > 32) {
    throw new FormValidationException({
      phone: [message('staff:form.phone')],
    });
  }
  return value;
}

/** patients.phone_digits: the digits of a phone number (search by what the caller says), null without one. */
export function phoneDigits(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const digits = phone.replace(/\D/g, '').slice(0, 32);
  return digits || null;
}
