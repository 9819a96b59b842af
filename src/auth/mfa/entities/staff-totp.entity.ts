import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A staff member's authenticator app (one per user). The secret is encrypted (TotpService). */
@Entity('staff_totp')
export class StaffTotp {
  @PrimaryColumn({ type: 'int' })
  staffUserId!: number;

  @Column({ type: 'varchar', length: 255 })
  secretEncrypted!: string;

  /** Null until the user confirms a code: an unconfirmed app is not a second factor. */
  @Column({ type: 'datetime', nullable: true })
  enabledAt!: Date | null;

  /** bigint comes back as a string from mysql2. */
  @Column({ type: 'bigint', nullable: true })
  lastUsedStep!: string | number | null;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;
}
