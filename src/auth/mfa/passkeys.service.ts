import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { EntityManager, Repository } from 'typeorm';
import { StaffPasskey } from './entities/staff-passkey.entity';
import { MfaKeys } from './mfa-keys';
import { SecondFactorsRepository } from './second-factors.repository';
import { assertedCredentialId, MAX_PASSKEYS_PER_USER, WebAuthnRelyingParty } from './webauthn';

export { MAX_PASSKEYS_PER_USER } from './webauthn';

/** Staff passkeys as a second factor: storage and ownership here, the ceremonies in webauthn.ts (shared with the portal). */
@Injectable()
export class PasskeysService {
  constructor(
    @InjectRepository(StaffPasskey) private readonly passkeys: Repository<StaffPasskey>,
    private readonly keys: MfaKeys,
    private readonly relyingParty: WebAuthnRelyingParty,
    private readonly factors: SecondFactorsRepository,
  ) {}

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
    return this.relyingParty.registrationOptions({
      userName: user.email,
      displayName: user.name,
      userHandle: this.keys.userHandle(user.id),
      existing,
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
    const credential = await this.relyingParty.verifyRegistration(response, expectedChallenge);
    if (await manager.existsBy(StaffPasskey, { credentialId: credential.credentialId }))
      throw new BadRequestException('This passkey is already registered.');
    return manager.save(manager.create(StaffPasskey, { staffUserId, ...credential, name }));
  }

  async authenticationOptions(staffUserId: number): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const keys = await this.list(staffUserId);
    if (keys.length === 0) throw new BadRequestException('No passkey is registered for this account.');
    return this.relyingParty.authenticationOptions(keys);
  }

  /** True when the assertion is valid for one of this user's passkeys; updates its counter and last use. */
  async verifyAuthentication(
    staffUserId: number,
    response: AuthenticationResponseJSON,
    expectedChallenge: string,
  ): Promise<boolean> {
    const credentialId = assertedCredentialId(response);
    const key = credentialId ? await this.factors.findPasskeyWithPublicKey(staffUserId, credentialId) : null;
    if (!key) return false;
    const counter = await this.relyingParty.verifyAuthentication(response, expectedChallenge, key, `staff user ${staffUserId}`);
    if (counter === null) return false;
    await this.passkeys.update({ id: key.id }, { counter, lastUsedAt: new Date() });
    return true;
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
