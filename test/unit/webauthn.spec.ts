import { MfaKeys } from '../../src/auth/mfa/mfa-keys';
import { PasskeyRegistrationRefused, WebAuthnRelyingParty } from '../../src/auth/mfa/webauthn';
import type { AppConfig } from '../../src/config/app-config';
import { SoftwareAuthenticator } from '../support/passkeys';

/** The WebAuthn seam shared by staff and portal passkeys, against a software authenticator (real signatures). */
describe('the WebAuthn relying party (src/auth/mfa/webauthn.ts)', () => {
  const origin = 'https://portal.clinic.test';
  const rp = new WebAuthnRelyingParty({ publicBaseUrl: `${origin}/`, clinicName: 'Demo Clinic' });
  const keys = new MfaKeys({ mfaEncryptionKey: 'unit-test-mfa-key-that-is-long-enough-0123456789' } as AppConfig);

  async function registered(authenticator = new SoftwareAuthenticator(origin)) {
    const options = await rp.registrationOptions({
      userName: 'ines.m',
      displayName: 'Ines',
      userHandle: keys.userHandle(7, 'portal'),
      existing: [],
    });
    const credential = await rp.verifyRegistration(authenticator.register(options), options.challenge);
    return { authenticator, credential };
  }

  it('is the host of PUBLIC_BASE_URL and excludes the passkeys already registered', async () => {
    expect(rp.rpId).toBe('portal.clinic.test');
    expect(rp.origin).toBe(origin);
    const options = await rp.registrationOptions({
      userName: 'ines.m',
      displayName: 'Ines',
      userHandle: keys.userHandle(7, 'portal'),
      existing: [{ credentialId: 'abc', publicKey: '', counter: 0, transports: 'usb,nfc' }],
    });
    expect(options.rp).toEqual({ id: 'portal.clinic.test', name: 'Demo Clinic' });
    expect(options.excludeCredentials).toEqual([{ id: 'abc', type: 'public-key', transports: ['usb', 'nfc'] }]);
  });

  it('stores a verified registration as base64url id and key with its counter and transports', async () => {
    const { authenticator, credential } = await registered();
    expect(credential).toEqual({
      credentialId: authenticator.credentialIds[0],
      publicKey: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      counter: 0,
      transports: 'usb',
    });
  });

  it('refuses a registration for another challenge or from another origin', async () => {
    const options = await rp.registrationOptions({
      userName: 'x',
      displayName: 'x',
      userHandle: keys.userHandle(1, 'portal'),
      existing: [],
    });
    const answer = new SoftwareAuthenticator(origin).register(options);
    await expect(rp.verifyRegistration(answer, 'another-challenge')).rejects.toBeInstanceOf(PasskeyRegistrationRefused);
    const phishing = new SoftwareAuthenticator('https://portal.clinic.test.evil.example').register(options);
    await expect(rp.verifyRegistration(phishing, options.challenge)).rejects.toBeInstanceOf(PasskeyRegistrationRefused);
  });

  it('accepts a signed assertion once per counter value: a replay or a cloned authenticator is refused', async () => {
    const { authenticator, credential } = await registered();
    const options = await rp.authenticationOptions([credential]);
    expect(options.allowCredentials).toEqual([{ id: credential.credentialId, type: 'public-key', transports: ['usb'] }]);
    const assertion = authenticator.assert(options);
    const counter = await rp.verifyAuthentication(assertion, options.challenge, credential, 'unit');
    expect(counter).toBe(1);
    // The same answer against the stored counter 1: not newer, refused.
    expect(await rp.verifyAuthentication(assertion, options.challenge, { ...credential, counter: 1 }, 'unit')).toBeNull();
    // Another challenge: refused.
    const next = await rp.authenticationOptions([credential]);
    expect(
      await rp.verifyAuthentication(authenticator.assert(options), next.challenge, { ...credential, counter: 1 }, 'unit'),
    ).toBeNull();
  });

  it('refuses a signature made with another key for the same credential id', async () => {
    const { credential } = await registered();
    const { authenticator: other, credential: otherCredential } = await registered();
    const options = await rp.authenticationOptions([credential]);
    const forged = other.assert({ ...options, allowCredentials: [{ id: otherCredential.credentialId, type: 'public-key' }] });
    forged.id = forged.rawId = credential.credentialId;
    expect(await rp.verifyAuthentication(forged, options.challenge, credential, 'unit')).toBeNull();
  });

  it('gives staff and portal accounts with the same number different user handles', () => {
    expect(Buffer.from(keys.userHandle(7, 'portal'))).not.toEqual(Buffer.from(keys.userHandle(7, 'staff')));
    // Staff handles are unchanged by the portal's (passkeys registered before keep working).
    expect(Buffer.from(keys.userHandle(7))).toEqual(Buffer.from(keys.userHandle(7, 'staff')));
  });
});
