import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A WebAuthn credential registered by a staff member (base64url id and COSE public key). */
@Entity('staff_passkeys')
export class StaffPasskey {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'int' })
  staffUserId!: number;

  @Column({ type: 'varchar', length: 512 })
  credentialId!: string;

  @Column({ type: 'text', select: false })
  publicKey!: string;

  /** bigint comes back as a string from mysql2. */
  @Column({ type: 'bigint', default: 0 })
  counter!: string | number;

  /** Comma-separated authenticator transports (usb, nfc, internal, hybrid...). */
  @Column({ type: 'varchar', length: 200, nullable: true })
  transports!: string | null;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;

  @Column({ type: 'datetime', nullable: true })
  lastUsedAt!: Date | null;
}
