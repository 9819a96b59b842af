import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Patient } from './patient.entity';
import { Provider } from './provider.entity';

@Entity('appointments')
export class Appointment {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64, nullable: true, unique: true })
  externalId!: string | null;

  @Column({ type: 'int' })
  patientId!: number;

  @ManyToOne(() => Patient, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'patient_id' })
  patient?: Patient;

  @Column({ type: 'int', nullable: true })
  providerId!: number | null;

  @ManyToOne(() => Provider, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'provider_id' })
  provider?: Provider | null;

  @Column({ type: 'datetime' })
  startsAt!: Date;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;
}
