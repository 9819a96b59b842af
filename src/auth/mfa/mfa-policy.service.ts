import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { SettingsRepository } from '../settings.repository';

export const REQUIRE_SECOND_FACTOR = 'staff.require_second_factor';
export const REQUIRE_PORTAL_SECOND_FACTOR = 'portal.require_second_factor';

/** Whose policy: staff (required by default in production) or portal accounts (offered, not required, by default). */
export type SecondFactorAudience = 'staff' | 'portal';
const POLICY_KEYS: Record<SecondFactorAudience, string> = { staff: REQUIRE_SECOND_FACTOR, portal: REQUIRE_PORTAL_SECOND_FACTOR };

/**
 * "Require a second factor for all staff": on by default in production, off otherwise;
 * once an admin sets it, the stored value wins. Read from the database on every use, so
 * all app instances agree at once.
 */
@Injectable()
export class MfaPolicyService {
  constructor(
    private readonly settings: SettingsRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async isRequired(manager?: EntityManager, who: SecondFactorAudience = 'staff'): Promise<boolean> {
    const value = await this.settings.valueOf(POLICY_KEYS[who], manager);
    return value !== null ? value === 'true' : who === 'staff' && this.config.isProduction;
  }

  /** Whether an admin has chosen (false: the NODE_ENV default applies). */
  async isStored(who: SecondFactorAudience = 'staff'): Promise<boolean> {
    return this.settings.isStored(POLICY_KEYS[who]);
  }

  async store(
    required: boolean,
    staffUserId: number | null,
    manager: EntityManager,
    who: SecondFactorAudience = 'staff',
  ): Promise<void> {
    await this.settings.put(POLICY_KEYS[who], String(required), staffUserId, manager);
  }
}
