import {
  CODE_ALPHABET,
  CODE_LENGTH,
  displayCode,
  newActivationCode,
  normaliseTypedCode,
} from '../../src/portal-access/activation-codes/activation-code';

describe('activation codes', () => {
  it('are 8 characters from an alphabet without 0/O or 1/I/L', () => {
    expect(CODE_ALPHABET).not.toMatch(/[01OIL]/);
    const codes = Array.from({ length: 2000 }, () => newActivationCode());
    for (const code of codes) {
      expect(code).toHaveLength(CODE_LENGTH);
      expect([...code].every((char) => CODE_ALPHABET.includes(char))).toBe(true);
    }
    // Random: 2,000 draws from 31^8 values do not repeat.
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('are read back as typed: any case, spaces and dashes ignored; anything else is no code', () => {
    const code = newActivationCode();
    expect(normaliseTypedCode(displayCode(code))).toBe(code);
    expect(normaliseTypedCode(` ${code.slice(0, 4).toLowerCase()} ${code.slice(4)} `)).toBe(code);
    expect(normaliseTypedCode('ABCD-EFG0')).toBeNull();
    expect(normaliseTypedCode('ABCD-EFGHJ')).toBeNull();
    expect(normaliseTypedCode(['ABCDEFGH'])).toBeNull();
  });
});
