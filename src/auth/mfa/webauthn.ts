import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

/** How many passkeys one account (staff or portal) may register. */
export const MAX_PASSKEYS_PER_USER = 10;

export type AuthenticatorTransport = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';

/** A stored passkey as the ceremonies need it (base64url id and COSE public key, comma-separated transports). */
export interface StoredPasskey {
  credentialId: string;
  publicKey: string;
  counter: number | string;
  transports: string | null;
}

/** What a verified registration stores. */
export interface NewPasskeyCredential {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string | null;
}

/** Thrown for every refused registration: the reason goes to the log, never to the browser. */
export class PasskeyRegistrationRefused extends BadRequestException {
  constructor(message = 'The passkey could not be registered. Try again.') {
    super(message);
  }
}

const logger = new Logger('WebAuthn');

/**
 * The who-independent core of passkeys, shared by staff (PasskeysService) and portal accounts
 * (src/portal/second-factor/): the relying party is PUBLIC_BASE_URL (its host name and origin);
 * the options, the verification of the browser's answers, and the stored form of a credential.
 * Each side keeps its own storage, challenges (pending-sign-in.ts) and rules.
 */
@Injectable()
export class WebAuthnRelyingParty {
  readonly rpId: string;
  readonly origin: string;
  private readonly rpName: string;

  constructor(@InjectConfig() config: Pick<AppConfig, 'publicBaseUrl' | 'clinicName'>) {
    this.rpName = config.clinicName;
    const base = new URL(config.publicBaseUrl);
    this.rpId = base.hostname;
    this.origin = base.origin;
  }

  registrationOptions(user: {
    userName: string;
    displayName: string;
    userHandle: Uint8Array<ArrayBuffer>;
    existing: StoredPasskey[];
  }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return generateRegistrationOptions({
      rpName: this.rpName,
      rpID: this.rpId,
      userName: user.userName,
      userDisplayName: user.displayName,
      userID: user.userHandle,
      attestationType: 'none',
      // The same authenticator twice would add nothing.
      excludeCredentials: user.existing.map(descriptorOf),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
  }

  /** Checks the browser's answer to `registrationOptions`; the credential to store, or PasskeyRegistrationRefused. */
  async verifyRegistration(response: RegistrationResponseJSON, expectedChallenge: string): Promise<NewPasskeyCredential> {
    let verification;
    try {
      // A second factor after the password: presence is enough, verification (PIN, biometrics) is a bonus.
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        requireUserVerification: false,
      });
    } catch (error) {
      logger.warn(`Passkey registration refused: ${(error as Error).message}`);
      throw new PasskeyRegistrationRefused();
    }
    if (!verification.verified) throw new PasskeyRegistrationRefused();
    const { credential } = verification.registrationInfo;
    if (credential.id.length > 512)
      throw new PasskeyRegistrationRefused('This authenticator’s credential is too large to register.');
    return {
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports?.join(',').slice(0, 200) ?? null,
    };
  }

  authenticationOptions(keys: StoredPasskey[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: keys.map(descriptorOf),
      userVerification: 'preferred',
    });
  }

  /** The authenticator's new signature counter when the assertion is valid for `key`, else null (logged with `who`). */
  async verifyAuthentication(
    response: AuthenticationResponseJSON,
    expectedChallenge: string,
    key: StoredPasskey,
    who: string,
  ): Promise<number | null> {
    try {
      const { verified, authenticationInfo } = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        credential: {
          id: key.credentialId,
          publicKey: new Uint8Array(Buffer.from(key.publicKey, 'base64url')),
          counter: Number(key.counter),
          transports: splitTransports(key.transports),
        },
        requireUserVerification: false,
      });
      return verified ? authenticationInfo.newCounter : null;
    } catch (error) {
      // A cloned authenticator (counter went backwards), a wrong origin or a bad signature.
      logger.warn(`Passkey assertion refused for ${who}: ${(error as Error).message}`);
      return null;
    }
  }
}

/** The credential id the browser answered with, when it is one at all. */
export const assertedCredentialId = (response: AuthenticationResponseJSON | undefined): string | null =>
  typeof response?.id === 'string' && response.id.length > 0 && response.id.length <= 512 ? response.id : null;

function descriptorOf(key: StoredPasskey) {
  return { id: key.credentialId, transports: splitTransports(key.transports) };
}

function splitTransports(value: string | null): AuthenticatorTransport[] | undefined {
  return value ? (value.split(',') as AuthenticatorTransport[]) : undefined;
}
