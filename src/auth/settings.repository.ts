import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Setting } from './mfa/entities/setting.entity';

/**
 * The one writer of `settings` (admin-changed values; absent means the built-in default):
 * the second-factor policies, the email-change approval policy and the first-run setup token
 * all go through here. Every method takes the caller's transaction where it has one.
 */
@Injectable()
export class SettingsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The stored value, or null when the default applies. */
  async valueOf(key: string, manager: EntityManager = this.dataSource.manager): Promise<string | null> {
    return (await manager.findOneBy(Setting, { settingKey: key }))?.value ?? null;
  }

  async isStored(key: string, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    return manager.existsBy(Setting, { settingKey: key });
  }

  /** Stores `value` under `key`, replacing what was there. */
  async put(key: string, value: string, staffUserId: number | null, manager: EntityManager): Promise<void> {
    if (await this.isStored(key, manager))
      await manager.update(Setting, { settingKey: key }, { value, updatedByStaffId: staffUserId });
    else await manager.insert(Setting, { settingKey: key, value, updatedByStaffId: staffUserId });
  }

  /** Deletes the row; with `onlyIfValue`, only while it still holds that value. True when a row went. */
  async remove(key: string, manager: EntityManager, onlyIfValue?: string): Promise<boolean> {
    const criteria = onlyIfValue === undefined ? { settingKey: key } : { settingKey: key, value: onlyIfValue };
    return ((await manager.delete(Setting, criteria)).affected ?? 0) === 1;
  }
}
