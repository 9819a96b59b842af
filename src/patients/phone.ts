/** patients.phone_digits: the digits of a phone number (search by what the caller says), null without one. */
export function phoneDigits(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const digits = phone.replace(/\D/g, '').slice(0, 32);
  return digits || null;
}
