import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** An admin-changed application setting; absent means the built-in default applies. */
@Entity('settings')
export class Setting {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  settingKey!: string;

  @Column({ type: 'varchar', length: 1000 })
  value!: string;

  @UpdateDateColumn({ type: 'datetime' })
  updatedAt!: Date;

  @Column({ type: 'int', nullable: true })
  updatedByStaffId!: number | null;
}
