import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { SettingsRepository } from '../auth/settings.repository';
import { StaffUser } from '../auth/entities/staff-user.entity';
import { StaffUsersService } from '../auth/staff-users.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { runInTransaction } from '../database/transactions';

/** The settings row that holds the current setup token's hash (absent: no setup link is open). */
export const SETUP_TOKEN_SETTING = 'setup.token_hash';
/** A printed setup link works for this long, or until it is used. */
export const SETUP_TOKEN_TTL_MS = 24 * 60 * 60_000;

interface StoredSetupToken {
  hash: string;
  expiresAt: number;
}

export const SETUP_LINK_INVALID =
  'This setup link is not valid (any more). Use the link the server printed at its last start, or restart the server for a new one.';

const hashOf = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * First-run setup (as Ghost's /ghost/setup and Jupyter's token URL): while no staff user
 * exists, each start stores the hash of a fresh random token and prints the link once; the
 * link's page creates the first admin with their own password. Only the hash is stored; the
 * token exists only in the server's output.
 */
@Injectable()
export class SetupTokenService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly staffUsers: StaffUsersService,
    @InjectConfig() private readonly config: AppConfig,
    private readonly settings: SettingsRepository,
  ) {}

  /** True while nobody can sign in yet: the only time /setup exists. */
  async isOpen(manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    return (await manager.count(StaffUser)) === 0;
  }

  /** Called at start: a new link (replacing any earlier one) when no staff user exists, else null. */
  async issueLinkIfNeeded(now = new Date()): Promise<string | null> {
    return runInTransaction(this.dataSource, async (tx) => {
      await this.settings.remove(SETUP_TOKEN_SETTING, tx);
      if (!(await this.isOpen(tx))) return null;
      const token = randomBytes(32).toString('base64url');
      const value = JSON.stringify({
        hash: hashOf(token),
        expiresAt: now.getTime() + SETUP_TOKEN_TTL_MS,
      } satisfies StoredSetupToken);
      await this.settings.put(SETUP_TOKEN_SETTING, value, null, tx);
      return `${this.config.publicBaseUrl}/setup?token=${token}`;
    });
  }

  /** The hash of a token that is valid now (to keep in the session), or null. */
  async check(token: unknown, now = new Date()): Promise<string | null> {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const hash = hashOf(token);
    return (await this.openValue(hash, now)) !== null ? hash : null;
  }

  /** Whether the hash kept in the session still belongs to the open, unexpired setup link. */
  async matches(hash: unknown, now = new Date()): Promise<boolean> {
    return (await this.openValue(hash, now)) !== null;
  }

  /**
   * Creates the first admin with their own password and uses the link up, in one
   * transaction: the token row is deleted only if it still holds this hash, so of two
   * concurrent submissions exactly one creates an admin. Any failure changes nothing.
   */
  async createFirstAdmin(
    hash: string,
    input: { email: string; name: string; password: string },
    context: AuditContext,
  ): Promise<StaffUser> {
    return runInTransaction(this.dataSource, async (tx) => {
      const value = await this.openValue(hash, new Date(), tx);
      const used = value !== null && (await this.settings.remove(SETUP_TOKEN_SETTING, tx, value));
      if (!used) throw new NotFoundException(SETUP_LINK_INVALID);
      return this.staffUsers.createWithOwnPassword({ ...input, role: 'admin' }, { ...context, actorLabel: 'setup link' }, tx);
    });
  }

  /** The stored value of the open setup link if `hash` is its token's hash and it has not expired. Constant-time comparison. */
  private async openValue(hash: unknown, now: Date, manager: EntityManager = this.dataSource.manager): Promise<string | null> {
    if (typeof hash !== 'string' || !(await this.isOpen(manager))) return null;
    const value = await this.settings.valueOf(SETUP_TOKEN_SETTING, manager);
    if (value === null) return null;
    let stored: StoredSetupToken;
    try {
      stored = JSON.parse(value) as StoredSetupToken;
    } catch {
      return null;
    }
    if (!(stored.expiresAt > now.getTime())) return null;
    const a = Buffer.from(String(stored.hash));
    const b = Buffer.from(hash);
    return a.length === b.length && timingSafeEqual(a, b) ? value : null;
  }
}
