import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { Setting } from './entities/setting.entity';

export const REQUIRE_SECOND_FACTOR = 'staff.require_second_factor';

/**
 * "Require a second factor for all staff": on by default in production, off otherwise;
 * once an admin sets it, the stored value wins. Read from the database on every use, so
 * all app instances agree at once.
 */
@Injectable()
export class MfaPolicyService {
  constructor(
    @InjectRepository(Setting) private readonly settings: Repository<Setting>,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async isRequired(manager: EntityManager = this.settings.manager): Promise<boolean> {
    const row = await manager.findOneBy(Setting, { settingKey: REQUIRE_SECOND_FACTOR });
    return row ? row.value === 'true' : this.config.isProduction;
  }

  /** Whether an admin has chosen (false: the NODE_ENV default applies). */
  async isStored(): Promise<boolean> {
    return this.settings.existsBy({ settingKey: REQUIRE_SECOND_FACTOR });
  }

  async store(required: boolean, staffUserId: number | null, manager: EntityManager): Promise<void> {
    const existing = await manager.findOneBy(Setting, { settingKey: REQUIRE_SECOND_FACTOR });
    if (existing)
      await manager.update(
        Setting,
        { settingKey: REQUIRE_SECOND_FACTOR },
        { value: String(required), updatedByStaffId: staffUserId },
      );
    else
      await manager.insert(Setting, {
        settingKey: REQUIRE_SECOND_FACTOR,
        value: String(required),
        updatedByStaffId: staffUserId,
      });
  }
}
