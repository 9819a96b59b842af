import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { StaffUser } from '../entities/staff-user.entity';
import { StaffPasskey } from './entities/staff-passkey.entity';
import { StaffRecoveryCode } from './entities/staff-recovery-code.entity';
import { StaffTotp } from './entities/staff-totp.entity';

/** "Has a second factor" across staff_totp (confirmed) and staff_passkeys, written once for the queries that need it. */
const WITH_TOTP = 'SELECT staff_user_id FROM staff_totp WHERE enabled_at IS NOT NULL';
const WITH_PASSKEY = 'SELECT staff_user_id FROM staff_passkeys';

/**
 * staff_totp, staff_recovery_codes and staff_passkeys: the queries beyond plain find/save (the
 * conditional UPDATEs that make a code single-use, the enrolment checks). The rules stay in the services.
 */
@Injectable()
export class SecondFactorsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A confirmed authenticator app or at least one passkey (recovery codes alone are not a factor). */
  async isEnrolled(staffUserId: number, db: EntityManager = this.dataSource.manager): Promise<boolean> {
    const totp = await db
      .createQueryBuilder(StaffTotp, 't')
      .where('t.staff_user_id = :staffUserId AND t.enabled_at IS NOT NULL', { staffUserId })
      .getExists();
    return totp || (await db.existsBy(StaffPasskey, { staffUserId }));
  }

  /** Ids of the staff users who have a second factor. */
  async enrolledUserIds(): Promise<Set<number>> {
    const rows: Array<{ staff_user_id: number | string }> = await this.dataSource.query(`${WITH_TOTP} UNION ${WITH_PASSKEY}`);
    return new Set(rows.map((row) => Number(row.staff_user_id)));
  }

  /** Ends the sessions of every staff user without a second factor (bumps their session generation); returns how many. */
  async endSessionsOfUnenrolled(tx: EntityManager): Promise<number> {
    const result = await tx
      .createQueryBuilder()
      .update(StaffUser)
      .set({ sessionGeneration: () => 'session_generation + 1' })
      .where(`id NOT IN (${WITH_TOTP}) AND id NOT IN (${WITH_PASSKEY})`)
      .execute();
    return result.affected ?? 0;
  }

  /** Stores an unconfirmed secret unless a parallel call already stored one (whichever won is kept). */
  async insertTotpUnlessPresent(staffUserId: number, secretEncrypted: string): Promise<void> {
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(StaffTotp)
      .values({ staffUserId, secretEncrypted })
      .orIgnore()
      .execute();
  }

  /** Confirms an enrolment in progress with the step of its first code; false when there was none to confirm. */
  async confirmTotp(staffUserId: number, step: number, db: EntityManager = this.dataSource.manager): Promise<boolean> {
    const result = await db
      .createQueryBuilder()
      .update(StaffTotp)
      .set({ enabledAt: new Date(), lastUsedStep: step })
      .where('staff_user_id = :staffUserId AND enabled_at IS NULL', { staffUserId })
      .execute();
    return !!result.affected;
  }

  /** Records a sign-in code's step in the UPDATE that accepts it: false for that step or an older one (a replay). */
  async useTotpStep(staffUserId: number, step: number): Promise<boolean> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(StaffTotp)
      .set({ lastUsedStep: step })
      .where('staff_user_id = :staffUserId AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < :step)', {
        staffUserId,
        step,
      })
      .execute();
    return !!result.affected;
  }

  /** Marks an unused recovery code used in one conditional UPDATE (two parallel uses: one wins). */
  async useRecoveryCode(staffUserId: number, codeHash: string, db: EntityManager = this.dataSource.manager): Promise<boolean> {
    const result = await db
      .createQueryBuilder()
      .update(StaffRecoveryCode)
      .set({ usedAt: new Date() })
      .where('staff_user_id = :staffUserId AND code_hash = :hash AND used_at IS NULL', { staffUserId, hash: codeHash })
      .execute();
    return !!result.affected;
  }

  /** A passkey with its public key (not selected by default), for checking a sign-in. */
  findPasskeyWithPublicKey(staffUserId: number, credentialId: string): Promise<StaffPasskey | null> {
    return this.dataSource
      .createQueryBuilder(StaffPasskey, 'k')
      .addSelect('k.publicKey')
      .where('k.staff_user_id = :staffUserId AND k.credential_id = :credentialId', { staffUserId, credentialId })
      .getOne();
  }
}
