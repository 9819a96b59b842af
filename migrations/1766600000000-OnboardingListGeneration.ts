import { MigrationInterface, QueryRunner } from 'typeorm';

/** Patient columns the onboarding filters read (onboarding-filter.ts filterSql: search, provider, appointment range). */
const PATIENT_COLUMNS = [
  'last_name',
  'first_name',
  'email',
  'date_of_birth',
  'external_id',
  'phone_digits',
  'primary_provider_id',
  'next_appointment_at',
];
/** Account columns the access / username / status filters read (portal-status.ts portalStatusConditionSql). */
const ACCOUNT_COLUMNS = ['access_enabled', 'username', 'invited_at', 'first_login_at'];

const BUMP = 'UPDATE onboarding_list_generation SET generation = generation + 1 WHERE id = 1';

/** One trigger per table and event: [name, event, table, changed columns (UPDATE only)]. */
const TRIGGERS: [string, 'INSERT' | 'UPDATE' | 'DELETE', string, string[]][] = [
  ['trg_olg_patients_ins', 'INSERT', 'patients', []],
  ['trg_olg_patients_upd', 'UPDATE', 'patients', PATIENT_COLUMNS],
  ['trg_olg_patients_del', 'DELETE', 'patients', []],
  ['trg_olg_accounts_ins', 'INSERT', 'portal_accounts', []],
  ['trg_olg_accounts_upd', 'UPDATE', 'portal_accounts', ACCOUNT_COLUMNS],
  ['trg_olg_accounts_del', 'DELETE', 'portal_accounts', []],
  ['trg_olg_tags_ins', 'INSERT', 'patient_tags', []],
  ['trg_olg_tags_upd', 'UPDATE', 'patient_tags', ['patient_id', 'tag_id']],
  ['trg_olg_tags_del', 'DELETE', 'patient_tags', []],
  // MariaDB does not fire triggers for rows removed by ON DELETE CASCADE: a deleted tag bumps itself.
  ['trg_olg_tag_del', 'DELETE', 'tags', []],
];

/**
 * The onboarding list's generation (issue 23): a number bumped by triggers in every transaction
 * that changes what the pager count reads, so an instance may keep a count per filter until the
 * number moves (onboarding-query.service.ts). Triggers, not app code, so no writer — the import,
 * a CLI, a future module — can forget it; an UPDATE bumps only when a filtered column changed.
 */
export class OnboardingListGeneration1766600000000 implements MigrationInterface {
  name = 'OnboardingListGeneration1766600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE onboarding_list_generation (id INTEGER NOT NULL PRIMARY KEY, generation BIGINT NOT NULL)');
    await q.query('INSERT INTO onboarding_list_generation (id, generation) VALUES (1, 0)');
    await createListGenerationTriggers(q);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [name] of TRIGGERS) await q.query(`DROP TRIGGER IF EXISTS ${name}`);
    await q.query('DROP TABLE onboarding_list_generation');
  }
}

/**
 * (Re)creates the triggers. On SQLite TypeORM changes a column by copying the table and dropping the old one, which
 * drops its triggers: a later migration that alters patients, portal_accounts, patient_tags or tags calls this
 * after (test/e2e/staff/onboarding-count-cache.e2e-spec.ts fails otherwise).
 */
export async function createListGenerationTriggers(q: QueryRunner): Promise<void> {
  const sqlite = q.connection.options.type === 'better-sqlite3';
  for (const [name, event, table, columns] of TRIGGERS) {
    await q.query(`DROP TRIGGER IF EXISTS ${name}`);
    if (sqlite) {
      const when = columns.length ? ` WHEN ${columns.map((c) => `OLD.${c} IS NOT NEW.${c}`).join(' OR ')}` : '';
      await q.query(`CREATE TRIGGER ${name} AFTER ${event} ON ${table} FOR EACH ROW${when} BEGIN ${BUMP}; END`);
    } else {
      const when = columns.length ? ` AND NOT (${columns.map((c) => `OLD.${c} <=> NEW.${c}`).join(' AND ')})` : '';
      await q.query(`CREATE TRIGGER ${name} AFTER ${event} ON ${table} FOR EACH ROW ${BUMP}${when}`);
    }
  }
}
