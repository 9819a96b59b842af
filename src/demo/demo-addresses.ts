import type { PostalAddress } from '../patients/postal-address';

const STREETS = [
  'Maple Street',
  'Oak Avenue',
  'Elm Street',
  'Cedar Lane',
  'Pine Road',
  'Lakeview Drive',
  'Main Street',
  'Hillcrest Court',
];
const TOWNS: Array<[city: string, region: string, zip: string]> = [
  ['Springfield', 'IL', '627'],
  ['Riverside', 'CA', '925'],
  ['Franklin', 'TN', '370'],
  ['Greenville', 'SC', '296'],
  ['Madison', 'WI', '537'],
  ['Salem', 'OR', '973'],
];

/** Share of demo patients with a postal address on file: the rest show "no postal address" in the letter preview. */
export const DEMO_ADDRESS_SHARE = 0.9;

/**
 * A synthetic US postal address for demo patient `id`, or null (about 1 in 10 have none).
 * Drawn from its own stream (seed and id), so adding addresses left every other demo value as
 * it was for the same seed.
 */
export function demoAddress(seed: number, id: number): PostalAddress | null {
  let state = (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + id * 0x85ebca6b) >>> 0;
  const rand = () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    state ^= state >>> 13;
    return (state >>> 0) / 4294967296;
  };
  if (rand() >= DEMO_ADDRESS_SHARE) return null;
  const [city, region, zip] = TOWNS[Math.floor(rand() * TOWNS.length)];
  return {
    addressLine1: `${1 + Math.floor(rand() * 9000)} ${STREETS[Math.floor(rand() * STREETS.length)]}`,
    addressLine2: rand() < 0.15 ? `Apt ${1 + Math.floor(rand() * 40)}` : null,
    addressCity: city,
    addressRegion: region,
    addressPostalCode: `${zip}${String(Math.floor(rand() * 100)).padStart(2, '0')}`,
    addressCountry: 'United States',
  };
}
