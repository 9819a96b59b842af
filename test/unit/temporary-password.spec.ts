import { generateTemporaryPassword, TEMPORARY_PASSWORD_ALPHABET } from '../../src/auth/staff-users.service';

describe('a one-time password for a staff user', () => {
  const samples = Array.from({ length: 300 }, () => generateTemporaryPassword());

  it('never contains a look-alike character (I, l, 1, O, 0)', () => {
    for (const password of samples) expect(password).not.toMatch(/[Il1O0]/);
    expect(TEMPORARY_PASSWORD_ALPHABET).not.toMatch(/[Il1O0]/);
  });

  it('is six groups of four letters or digits, and differs every time', () => {
    for (const password of samples) expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{4}(-[A-HJ-NP-Za-km-z2-9]{4}){5}$/);
    expect(new Set(samples).size).toBe(samples.length);
  });

  it('uses the whole alphabet (no character is left out by a biased draw)', () => {
    const seen = new Set(samples.join('').replace(/-/g, ''));
    expect(seen.size).toBe(TEMPORARY_PASSWORD_ALPHABET.length);
  });
});
