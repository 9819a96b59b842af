import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  JoinTable,
  ManyToMany,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';
import { Provider } from './provider.entity';
import { Tag } from './tag.entity';

@Entity('patients')
export class Patient {
  @PrimaryGeneratedColumn()
  id!: number;

  /** The clinic's record number (MRN); imports upsert by it. */
  @Column({ type: 'varchar', length: 64, nullable: true, unique: true })
  externalId!: string | null;

  /** The FHIR identifier.system the external id came from (null: a CSV or a hand-made patient). */
  @Column({ type: 'varchar', length: 255, nullable: true })
  externalIdSystem!: string | null;

  @Column({ type: 'varchar', length: 100 })
  firstName!: string;

  @Column({ type: 'varchar', length: 100 })
  lastName!: string;

  /** ISO date (YYYY-MM-DD). */
  @Column({ type: 'date' })
  dateOfBirth!: string;

  /** Null means "No email on file": such a patient is never invited. */
  @Column({ type: 'varchar', length: 254, nullable: true })
  email!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  phone!: string | null;

  /** BCP 47 tag ("es") of the language the patient reads; null: the clinic's default (SUPPORTED_LANGUAGES' first). */
  @Column({ type: 'varchar', length: 35, nullable: true })
  preferredLanguage!: string | null;

  /** A deceased patient is never enabled or invited (see portal-access/portal-eligibility.ts). */
  @Column({ type: 'boolean', default: false })
  deceased!: boolean;

  /** As the record gave it: YYYY, YYYY-MM or YYYY-MM-DD; null when only the flag is known. */
  @Column({ type: 'varchar', length: 10, nullable: true })
  deceasedDate!: string | null;

  /** The digits of `phone` (phoneDigits in ../phone-number.ts), indexed for the onboarding search; written with `phone`. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  phoneDigits!: string | null;

  /** The postal address, its parts listed once in ../postal-address.ts; letters need line 1, city and postal code. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  addressLine1!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  addressLine2!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  addressCity!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  addressRegion!: string | null;

  @Column({ type: 'varchar', length: 20, nullable: true })
  addressPostalCode!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  addressCountry!: string | null;

  @Column({ type: 'int', nullable: true })
  primaryProviderId!: number | null;

  @ManyToOne(() => Provider, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'primary_provider_id' })
  primaryProvider?: Provider | null;

  @ManyToMany(() => Tag)
  @JoinTable({ name: 'patient_tags', joinColumn: { name: 'patient_id' }, inverseJoinColumn: { name: 'tag_id' } })
  tags?: Tag[];

  /** Denormalised earliest future appointment; written in the same transaction as appointment changes. */
  @Column({ type: 'datetime', nullable: true })
  nextAppointmentAt!: Date | null;

  @VersionColumn({ default: 1 })
  version!: number;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'datetime' })
  updatedAt!: Date;
}
