import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

const FORMAT = 'v1';

/**
 * Keys derived from MFA_ENCRYPTION_KEY with HKDF-SHA-256, one per purpose, so the
 * configured string is never used directly and a key serves one job only.
 */
@Injectable()
export class MfaKeys {
  private readonly encryptionKey: Buffer;
  private readonly recoveryCodeKey: Buffer;
  private readonly userHandleKey: Buffer;

  constructor(@InjectConfig() config: AppConfig) {
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', config.mfaEncryptionKey, 'staff-second-factor', info, 32));
    this.encryptionKey = derive('totp-secret-encryption v1');
    this.recoveryCodeKey = derive('recovery-code-hash v1');
    this.userHandleKey = derive('webauthn-user-handle v1');
  }

  /** AES-256-GCM; `context` (e.g. the user id) is authenticated, so a row copied to another user fails to decrypt. */
  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${FORMAT}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
  }

  decrypt(stored: string, context: string): string {
    const [format, payload] = stored.split(':');
    if (format !== FORMAT || !payload) throw new Error('Unknown encrypted secret format');
    const bytes = Buffer.from(payload, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** Keyed hash of a recovery code: a stolen database alone cannot be brute-forced offline. */
  hashRecoveryCode(normalizedCode: string): string {
    return createHmac('sha256', this.recoveryCodeKey).update(normalizedCode).digest('hex');
  }

  /**
   * A stable, opaque WebAuthn user handle (no email or id goes to the authenticator). Portal
   * accounts and representatives' own accounts hash under their own prefixes, so a staff member, a
   * patient and a representative with the same id never share one.
   */
  userHandle(id: number, audience: 'staff' | 'portal' | 'representative' = 'staff'): Uint8Array<ArrayBuffer> {
    const subject = audience === 'staff' ? String(id) : `${audience}:${id}`;
    return new Uint8Array(createHmac('sha256', this.userHandleKey).update(subject).digest());
  }
}
