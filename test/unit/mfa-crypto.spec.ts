import { generate } from 'otplib';
import { MfaKeys } from '../../src/auth/mfa/mfa-keys';
import { generateRecoveryCode, normalizeRecoveryCode } from '../../src/auth/mfa/recovery-codes.service';
import { looksLikeTotpCode } from '../../src/auth/mfa/totp.service';
import type { AppConfig } from '../../src/config/app-config';

const keysFor = (mfaEncryptionKey: string) => new MfaKeys({ mfaEncryptionKey } as AppConfig);

describe('second-factor secrets at rest', () => {
  const keys = keysFor('unit-test-mfa-key-that-is-long-enough-0123456789');

  it('encrypts a TOTP secret with AES-256-GCM so the stored text reveals nothing and decrypts back', () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const stored = keys.encrypt(secret, 'staff_totp:7');
    expect(stored).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain(secret);
    expect(keys.encrypt(secret, 'staff_totp:7')).not.toBe(stored);
    expect(keys.decrypt(stored, 'staff_totp:7')).toBe(secret);
  });

  it('refuses a secret copied to another user, a tampered one, and one read with another key', () => {
    const stored = keys.encrypt('JBSWY3DPEHPK3PXP', 'staff_totp:7');
    expect(() => keys.decrypt(stored, 'staff_totp:8')).toThrow();
    const bytes = Buffer.from(stored.slice(3), 'base64url');
    bytes[bytes.length - 1] ^= 1;
    expect(() => keys.decrypt(`v1:${bytes.toString('base64url')}`, 'staff_totp:7')).toThrow();
    expect(() => keysFor('another-key-entirely-that-is-long-enough-000000').decrypt(stored, 'staff_totp:7')).toThrow();
  });

  it('hashes recovery codes with a key, so equal codes hash alike only under the same key', () => {
    const other = keysFor('another-key-entirely-that-is-long-enough-000000');
    expect(keys.hashRecoveryCode('abcde12345')).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.hashRecoveryCode('abcde12345')).toBe(keys.hashRecoveryCode('abcde12345'));
    expect(other.hashRecoveryCode('abcde12345')).not.toBe(keys.hashRecoveryCode('abcde12345'));
  });

  it('gives each staff user a stable, opaque 32-byte WebAuthn user handle', () => {
    expect(keys.userHandle(1)).toHaveLength(32);
    expect(Buffer.from(keys.userHandle(1))).toEqual(Buffer.from(keys.userHandle(1)));
    expect(Buffer.from(keys.userHandle(1))).not.toEqual(Buffer.from(keys.userHandle(2)));
  });
});

describe('recovery and TOTP codes as typed', () => {
  it('makes 10-character codes from an unambiguous alphabet, shown as two groups of five', () => {
    const codes = Array.from({ length: 200 }, generateRecoveryCode);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
    expect(new Set(codes).size).toBe(200);
  });

  it('accepts a recovery code whatever the case, spaces and dashes, and reads o, i and l as digits', () => {
    expect(normalizeRecoveryCode(' AB7K2-9XQ4M ')).toBe('ab7k29xq4m');
    expect(normalizeRecoveryCode('ab7k2 9xq4m')).toBe('ab7k29xq4m');
    expect(normalizeRecoveryCode('O1lI0-aaaaa')).toBe('01110aaaaa');
  });

  it('tells a 6-digit app code from a recovery code', async () => {
    expect(looksLikeTotpCode(await generate({ secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' }))).toBe(true);
    expect(looksLikeTotpCode('123 456')).toBe(true);
    expect(looksLikeTotpCode('12345')).toBe(false);
    expect(looksLikeTotpCode('ab7k2-9xq4m')).toBe(false);
  });
});
