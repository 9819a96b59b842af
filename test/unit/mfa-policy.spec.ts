import type { DataSource } from 'typeorm';
import { MfaPolicyService, REQUIRE_SECOND_FACTOR } from '../../src/auth/mfa/mfa-policy.service';
import type { Setting } from '../../src/auth/mfa/entities/setting.entity';
import { SettingsRepository } from '../../src/auth/settings.repository';
import type { AppConfig } from '../../src/config/app-config';

/** A settings table holding at most the policy row. */
function sut(isProduction: boolean, stored?: string) {
  const row = stored === undefined ? null : ({ settingKey: REQUIRE_SECOND_FACTOR, value: stored } as Setting);
  const manager = { findOneBy: jest.fn(async () => row), existsBy: jest.fn(async () => row !== null) };
  const settings = new SettingsRepository({ manager } as unknown as DataSource);
  return new MfaPolicyService(settings, { isProduction } as AppConfig);
}

describe('the second-factor policy default', () => {
  it('is on in production and off elsewhere while no admin has chosen', async () => {
    await expect(sut(true).isRequired()).resolves.toBe(true);
    await expect(sut(false).isRequired()).resolves.toBe(false);
    await expect(sut(false).isStored()).resolves.toBe(false);
  });

  it('follows the stored choice once an admin has made one, in either direction', async () => {
    await expect(sut(true, 'false').isRequired()).resolves.toBe(false);
    await expect(sut(false, 'true').isRequired()).resolves.toBe(true);
    await expect(sut(false, 'true').isStored()).resolves.toBe(true);
  });
});
