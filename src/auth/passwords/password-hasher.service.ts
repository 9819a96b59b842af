import { hash, verify } from '@node-rs/argon2';
import { Injectable } from '@nestjs/common';

/** OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane); the parameters are stored in each hash. */
const ARGON2_OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id (a const enum) */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

@Injectable()
export class PasswordHasher {
  /** A hash of a random string: verified against when the account does not exist, so timing does not tell. */
  private dummyHash: Promise<string> | null = null;

  hash(password: string): Promise<string> {
    // Checked exactly as typed (no trim, no case folding); NFKC so the same text typed on another keyboard matches.
    return hash(password.normalize('NFKC'), ARGON2_OPTIONS);
  }

  async verify(passwordHash: string | null | undefined, password: string): Promise<boolean> {
    if (!passwordHash) {
      this.dummyHash ??= this.hash(`dummy-${Math.random()}-${Date.now()}`);
      await verify(await this.dummyHash, password.normalize('NFKC')).catch(() => false);
      return false;
    }
    try {
      return await verify(passwordHash, password.normalize('NFKC'));
    } catch {
      return false;
    }
  }
}
