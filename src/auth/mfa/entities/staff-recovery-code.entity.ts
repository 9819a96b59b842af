import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One single-use recovery code; only its keyed hash is stored. */
@Entity('staff_recovery_codes')
export class StaffRecoveryCode {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'int' })
  staffUserId!: number;

  @Column({ type: 'varchar', length: 64 })
  codeHash!: string;

  @Column({ type: 'datetime', nullable: true })
  usedAt!: Date | null;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;
}
