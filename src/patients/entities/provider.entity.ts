import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('providers')
export class Provider {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Not unique: two practitioners may share a name; the NPI (external id) tells them apart. */
  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  externalId!: string | null;

  /** `Practitioner/<id>` of the FHIR file it was imported from, so a later file's reference finds it. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  fhirId!: string | null;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;
}
