import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { StaffUser } from '../entities/staff-user.entity';
import { StaffPasskey } from './entities/staff-passkey.entity';
import { StaffTotp } from './entities/staff-totp.entity';

/** "Has a second factor" across staff_totp (confirmed) and staff_passkeys, written once for the queries that need it. */
const WITH_TOTP = 'SELECT staff_user_id FROM staff_totp WHERE enabled_at IS NOT NULL';
const WITH_PASSKEY = 'SELECT staff_user_id FROM staff_passkeys';

@Injectable()
export class SecondFactorsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A confirmed authenticator app or at least one passkey (recovery codes alone are not a factor). */
  async isEnrolled(staffUserId: number, db: EntityManager = this.dataSource.manager): Promise<boolean> {
    const totp = await db.createQueryBuilder(StaffTotp, 't').where('t.staff_user_id = :staffUserId AND t.enabled_at IS NOT NULL', { staffUserId }).getExists();
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
}
