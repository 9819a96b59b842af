import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
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
import { EntityManager, Repository } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { StaffPasskey } from './entities/staff-passkey.entity';
import { MfaKeys } from './mfa-keys';
import { SecondFactorsRepository } from './second-factors.repository';

export const MAX_PASSKEYS_PER_USER = 10;

/** WebAuthn as a second factor: the relying party is PUBLIC_BASE_URL (its host name and origin). */
@Injectable()
export class PasskeysService {
  private readonly logger = new Logger(PasskeysService.name);
  private readonly rpId: string;
  private readonly origin: string;

  constructor(
    @InjectRepository(StaffPasskey) private readonly passkeys: Repository<StaffPasskey>,
    private readonly keys: MfaKeys,
    @InjectConfig() private readonly config: AppConfig,
    private readonly factors: SecondFactorsRepository,
  ) {
    const base = new URL(config.publicBaseUrl);
    this.rpId = base.hostname;
    this.origin = base.origin;
  }

  list(staffUserId: number): Promise<StaffPasskey[]> {
    return this.passkeys.find({ where: { staffUserId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  count(staffUserId: number, manager: EntityManager = this.passkeys.manager): Promise<number> {
    return manager.countBy(StaffPasskey, { staffUserId });
  }

  async registrationOptions(user: { id: number; email: string; name: string }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.list(user.id);
    if (existing.length >= MAX_PASSKEYS_PER_USER)
      throw new BadRequestException(`You can register at most ${MAX_PASSKEYS_PER_USER} passkeys. Remove one first.`);
    return generateRegistrationOptions({
      rpName: this.config.clinicName,
      rpID: this.rpId,
      userName: user.email,
      userDisplayName: user.name,
      userID: this.keys.userHandle(user.id),
      attestationType: 'none',
      // The same authenticator twice would add nothing.
      excludeCredentials: existing.map((key) => ({ id: key.credentialId, transports: splitTransports(key.transports) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
  }

  /** Verifies the browser's answer to `registrationOptions` and stores the credential. */
  async register(
    staffUserId: number,
    name: string,
    response: RegistrationResponseJSON,
    expectedChallenge: string,
    manager: EntityManager = this.passkeys.manager,
  ): Promise<StaffPasskey> {
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
      this.logger.warn(`Passkey registration refused: ${(error as Error).message}`);
      throw new BadRequestException('The passkey could not be registered. Try again.');
    }
    if (!verification.verified) throw new BadRequestException('The passkey could not be registered. Try again.');
    const { credential } = verification.registrationInfo;
    if (credential.id.length > 512) throw new BadRequestException('This authenticator’s credential is too large to register.');
    if (await manager.existsBy(StaffPasskey, { credentialId: credential.id }))
      throw new BadRequestException('This passkey is already registered.');
    return manager.save(
      manager.create(StaffPasskey, {
        staffUserId,
        credentialId: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: credential.transports?.join(',').slice(0, 200) ?? null,
        name,
      }),
    );
  }

  async authenticationOptions(staffUserId: number): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const keys = await this.list(staffUserId);
    if (keys.length === 0) throw new BadRequestException('No passkey is registered for this account.');
    return generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: keys.map((key) => ({ id: key.credentialId, transports: splitTransports(key.transports) })),
      userVerification: 'preferred',
    });
  }

  /** True when the assertion is valid for one of this user's passkeys; updates its counter and last use. */
  async verifyAuthentication(
    staffUserId: number,
    response: AuthenticationResponseJSON,
    expectedChallenge: string,
  ): Promise<boolean> {
    if (typeof response?.id !== 'string') return false;
    const key = await this.factors.findPasskeyWithPublicKey(staffUserId, response.id);
    if (!key) return false;
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
      if (!verified) return false;
      await this.passkeys.update({ id: key.id }, { counter: authenticationInfo.newCounter, lastUsedAt: new Date() });
      return true;
    } catch (error) {
      // A cloned authenticator (counter went backwards), a wrong origin or a bad signature.
      this.logger.warn(`Passkey assertion refused for staff user ${staffUserId}: ${(error as Error).message}`);
      return false;
    }
  }

  /** `changed` is false when the form came back with the name it already had. */
  async rename(staffUserId: number, passkeyId: number, name: string): Promise<StaffPasskey & { changed: boolean }> {
    const key = await this.passkeys.findOneBy({ id: passkeyId, staffUserId });
    if (!key) throw new NotFoundException('No such passkey.');
    if (key.name === name) return { ...key, changed: false };
    await this.passkeys.update({ id: key.id }, { name });
    return { ...key, name, changed: true };
  }

  /** Only the owner's own passkey (the id alone is not enough). */
  async remove(staffUserId: number, passkeyId: number, manager: EntityManager): Promise<StaffPasskey> {
    const key = await manager.findOneBy(StaffPasskey, { id: passkeyId, staffUserId });
    if (!key) throw new NotFoundException('No such passkey.');
    await manager.delete(StaffPasskey, { id: key.id });
    return key;
  }

  async removeAll(staffUserId: number, manager: EntityManager): Promise<number> {
    return (await manager.delete(StaffPasskey, { staffUserId })).affected ?? 0;
  }
}

function splitTransports(value: string | null): AuthenticatorTransportFuture[] | undefined {
  return value ? (value.split(',') as AuthenticatorTransportFuture[]) : undefined;
}

type AuthenticatorTransportFuture = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';
