import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import { EntityManager, IsNull, Repository } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { StaffRecoveryCode } from './entities/staff-recovery-code.entity';
import { MfaKeys } from './mfa-keys';
import { SecondFactorsRepository } from './second-factors.repository';
import { StaffNoticeMailer } from '../staff-notice-mailer';
import { runInTransaction } from '../../database/transactions';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet: no i, l, o, u, so codes read back without confusion. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** 10 characters of base32 (50 bits), shown as "xxxxx-xxxxx". */
export function generateRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < 10; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** A fresh set of RECOVERY_CODE_COUNT distinct codes (staff and portal accounts alike). */
export function newRecoveryCodes(): string[] {
  const plain = new Set<string>();
  while (plain.size < RECOVERY_CODE_COUNT) plain.add(generateRecoveryCode());
  return [...plain];
}

/** What the user typed, as stored: case, spaces and dashes do not matter; o/i/l read as 0/1. */
export function normalizeRecoveryCode(input: string): string {
  return input
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
}

/** Single-use recovery codes: shown once, stored as keyed hashes, consumed atomically. */
@Injectable()
export class RecoveryCodesService {
  constructor(
    @InjectRepository(StaffRecoveryCode) private readonly codes: Repository<StaffRecoveryCode>,
    private readonly keys: MfaKeys,
    private readonly audit: AuditService,
    private readonly factors: SecondFactorsRepository,
    private readonly notices: StaffNoticeMailer,
  ) {}

  remaining(staffUserId: number, manager: EntityManager = this.codes.manager): Promise<number> {
    return manager.countBy(StaffRecoveryCode, { staffUserId, usedAt: IsNull() });
  }

  /** Replaces every code of the user with 10 new ones; the returned plaintext is shown once and never stored. */
  async regenerate(staffUserId: number, context: AuditContext, manager: EntityManager = this.codes.manager): Promise<string[]> {
    const codes = newRecoveryCodes();
    await manager.delete(StaffRecoveryCode, { staffUserId });
    await manager.insert(
      StaffRecoveryCode,
      codes.map((code) => ({ staffUserId, codeHash: this.keys.hashRecoveryCode(normalizeRecoveryCode(code)) })),
    );
    await this.audit.record(
      context,
      { action: 'staff.recovery_codes_generated', details: { staffUserId, count: codes.length } },
      manager,
    );
    return codes;
  }

  /** Marks the code used (one UPDATE, so two parallel uses cannot both succeed); null when it is wrong or used. */
  async consume(
    staffUserId: number,
    input: string,
    manager: EntityManager = this.codes.manager,
  ): Promise<{ remaining: number } | null> {
    const normalized = normalizeRecoveryCode(input);
    if (!/^[0-9a-z]{10}$/.test(normalized)) return null;
    if (!(await this.factors.useRecoveryCode(staffUserId, this.keys.hashRecoveryCode(normalized), manager))) return null;
    return { remaining: await this.remaining(staffUserId, manager) };
  }

  /** A recovery code at the second sign-in step: marked used, audited and the user told, in one transaction. */
  async useForSignIn(staffUserId: number, input: string, context: AuditContext): Promise<{ remaining: number } | null> {
    return runInTransaction(this.codes.manager, async (tx) => {
      const used = await this.consume(staffUserId, input, tx);
      if (!used) return null;
      await this.audit.record(context, { action: 'staff.recovery_code_used', details: { remaining: used.remaining } }, tx);
      await this.notices.queueFor(tx, staffUserId, 'recovery_code_used');
      return used;
    });
  }

  async removeAll(staffUserId: number, manager: EntityManager = this.codes.manager): Promise<void> {
    await manager.delete(StaffRecoveryCode, { staffUserId });
  }
}
