import { message } from '../i18n/messages';

/**
 * A patient's postal address (issue #18: printed activation letters): its parts, once. The
 * entity, the migration, the details form, the CSV and FHIR imports and the letter all read
 * this list, so adding a part is one line here.
 */
export const POSTAL_ADDRESS_PARTS = [
  { key: 'addressLine1', csv: 'address_line1', max: 100, autocomplete: 'address-line1' },
  { key: 'addressLine2', csv: 'address_line2', max: 100, autocomplete: 'address-line2' },
  { key: 'addressCity', csv: 'address_city', max: 100, autocomplete: 'address-level2' },
  { key: 'addressRegion', csv: 'address_region', max: 100, autocomplete: 'address-level1' },
  { key: 'addressPostalCode', csv: 'address_postal_code', max: 20, autocomplete: 'postal-code' },
  { key: 'addressCountry', csv: 'address_country', max: 100, autocomplete: 'country-name' },
] as const;

export type PostalAddressKey = (typeof POSTAL_ADDRESS_PARTS)[number]['key'];
export type PostalAddress = Record<PostalAddressKey, string | null>;

/** The snake_case column of a part (the naming strategy's rule: addressLine1 → address_line1). */
export const addressColumn = (key: PostalAddressKey) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

const UNUSABLE = /[\u0000-\u001f\u007f<>{}]/;

/** One part as stored: NFC, trimmed, inner runs of spaces folded; empty is null. */
export function cleanAddressPart(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = value.normalize('NFC').trim().replace(/\s+/g, ' ');
  return cleaned ? cleaned : null;
}

/** Why a typed part cannot be stored, or null. */
export function addressPartProblem(key: PostalAddressKey, value: string | null): string | null {
  const part = POSTAL_ADDRESS_PARTS.find((p) => p.key === key)!;
  if (value === null) return null;
  // Message keys: the part's words are staff.json patient.addressPart.<key> (label) and form.addressPart.<key> (in a sentence).
  if (value.length > part.max) return message('staff:form.addressTooLong', { max: part.max, part: key });
  if (UNUSABLE.test(value)) return message('staff:form.addressCharacters', { part: key });
  return null;
}

/** Every part from a record that has them (an entity, a parsed import row), nulls for the missing. */
export function postalAddressOf(source: Partial<Record<PostalAddressKey, string | null | undefined>>): PostalAddress {
  return Object.fromEntries(POSTAL_ADDRESS_PARTS.map(({ key }) => [key, source[key] ?? null])) as PostalAddress;
}

/** A letter can be posted to it: a first line, a city and a postal code at least. */
export function isMailable(address: PostalAddress): boolean {
  return Boolean(address.addressLine1 && address.addressCity && address.addressPostalCode);
}

/** The lines under the name on an envelope: street lines, "City, Region Postal", country. */
export function envelopeLines(address: PostalAddress): string[] {
  const town = [address.addressCity, [address.addressRegion, address.addressPostalCode].filter(Boolean).join(' ')]
    .filter(Boolean)
    .join(', ');
  return [address.addressLine1, address.addressLine2, town, address.addressCountry].filter((line): line is string =>
    Boolean(line),
  );
}
