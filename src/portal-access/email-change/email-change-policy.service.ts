import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Setting } from '../../auth/mfa/entities/setting.entity';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

export const EMAIL_CHANGE_NEEDS_APPROVAL = 'patients.email_change_needs_approval';

/**
 * "Email changes need a second staff member's approval": on by default in production, off
 * otherwise; once an admin sets it, the stored value wins. Read on every use, so all app
 * instances agree at once.
 */
@Injectable()
export class EmailChangePolicyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async needsApproval(manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    const row = await manager.findOneBy(Setting, { settingKey: EMAIL_CHANGE_NEEDS_APPROVAL });
    return row ? row.value === 'true' : this.config.isProduction;
  }

  async isStored(): Promise<boolean> {
    return this.dataSource.manager.existsBy(Setting, { settingKey: EMAIL_CHANGE_NEEDS_APPROVAL });
  }

  async store(required: boolean, staffUserId: number | null, manager: EntityManager): Promise<boolean> {
    const before = await this.needsApproval(manager);
    const existing = await manager.findOneBy(Setting, { settingKey: EMAIL_CHANGE_NEEDS_APPROVAL });
    if (existing)
      await manager.update(
        Setting,
        { settingKey: EMAIL_CHANGE_NEEDS_APPROVAL },
        { value: String(required), updatedByStaffId: staffUserId },
      );
    else
      await manager.insert(Setting, {
        settingKey: EMAIL_CHANGE_NEEDS_APPROVAL,
        value: String(required),
        updatedByStaffId: staffUserId,
      });
    return before;
  }
}
