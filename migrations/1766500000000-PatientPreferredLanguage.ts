import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * The language a patient reads (BCP 47, e.g. "es"); null: not known, emails and pages use the default.
 * Emails, the portal's first page and the onboarding filter read it.
 */
export class PatientPreferredLanguage1766500000000 implements MigrationInterface {
  name = 'PatientPreferredLanguage1766500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'patients',
      new TableColumn({ name: 'preferred_language', type: 'varchar', length: '35', isNullable: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('patients', 'preferred_language');
  }
}
