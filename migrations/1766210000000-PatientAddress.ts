import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** Issue #18: a patient's postal address (src/patients/postal-address.ts), for printed activation letters. */
const COLUMNS: Array<[name: string, length: number]> = [
  ['address_line1', 100],
  ['address_line2', 100],
  ['address_city', 100],
  ['address_region', 100],
  ['address_postal_code', 20],
  ['address_country', 100],
];

export class PatientAddress1766210000000 implements MigrationInterface {
  name = 'PatientAddress1766210000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns(
      'patients',
      COLUMNS.map(([name, length]) => new TableColumn({ name, type: 'varchar', length: String(length), isNullable: true })),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [name] of [...COLUMNS].reverse()) await q.dropColumn('patients', name);
  }
}
