import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * The digits of a patient's phone number, indexed, so the onboarding search finds
 * "(555) 123-4567" from what the caller says ("5551234567"). Written by the app next to
 * `phone` (src/patients/phone.ts); existing rows are filled here.
 */
export class PatientPhoneDigits1765000000000 implements MigrationInterface {
  name = 'PatientPhoneDigits1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('patients', new TableColumn({ name: 'phone_digits', type: 'varchar', length: '32', isNullable: true }));
    await q.createIndex('patients', new TableIndex({ name: 'ix_patients_phone_digits', columnNames: ['phone_digits'] }));
    // The usual separators; the same on MariaDB and SQLite (neither shares a regex replace with the other).
    const digits = ['-', ' ', '(', ')', '.', '+', '/'].reduce((sql, c) => `REPLACE(${sql}, '${c}', '')`, 'phone');
    await q.query(`UPDATE patients SET phone_digits = ${digits} WHERE phone IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('patients', 'ix_patients_phone_digits');
    await q.dropColumn('patients', 'phone_digits');
  }
}
