import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Issue 17: the activation report's per-patient summary, kept by triggers in the same transaction as
 * every write that changes it (a link queued, its email sent / failed / bounced, the link opened or
 * used, access enabled or disabled, a username chosen, the first sign-in, the primary provider
 * changed). Triggers, not app code, for the same reason as the onboarding list's generation
 * (1766600000000): no writer — invitations, the sender, bounces, imports, a CLI — can forget it, and
 * no module below the report has to know about it. Only the patient's own links count: a
 * representative's link (representative_account_id set) never moves the patient's funnel.
 *
 * The report (src/activation/activation-report.repository.ts) reads this table alone (plus
 * patient_tags for "by tag"); test/e2e/activation/activation-summary.e2e-spec.ts compares it with a
 * straight computation from the raw tables after a varied history, and after a fresh backfill.
 */
export class ActivationSummary1767700000000 implements MigrationInterface {
  name = 'ActivationSummary1767700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'activation_summary',
        columns: [
          { name: 'patient_id', type: 'int', isPrimary: true },
          // Copies of portal_accounts / patients columns, so the report reads one narrow table.
          { name: 'access_enabled', type: 'boolean', default: false },
          { name: 'has_username', type: 'boolean', default: false },
          { name: 'first_login_at', type: 'datetime', isNullable: true },
          { name: 'provider_id', type: 'int', isNullable: true },
          // From the patient's own links (representative_account_id IS NULL) and their emails.
          { name: 'first_invite_at', type: 'datetime', isNullable: true },
          // Emails of own links whose outbox status is 'sent' (a count: a hard bounce takes one back).
          { name: 'sent_emails', type: 'int', default: 0 },
          { name: 'first_opened_at', type: 'datetime', isNullable: true },
          { name: 'first_used_at', type: 'datetime', isNullable: true },
        ],
        indices: [
          // Covering indexes: the total and "by provider" read the first, "by month" the second, in index order.
          new TableIndex({
            name: 'ix_activation_summary_provider',
            columnNames: [
              'access_enabled',
              'provider_id',
              'first_invite_at',
              'sent_emails',
              'first_opened_at',
              'has_username',
              'first_login_at',
              'first_used_at',
            ],
          }),
          new TableIndex({
            name: 'ix_activation_summary_invite',
            columnNames: [
              'access_enabled',
              'first_invite_at',
              'sent_emails',
              'first_opened_at',
              'has_username',
              'first_login_at',
              'first_used_at',
            ],
          }),
        ],
        foreignKeys: [
          { columnNames: ['patient_id'], referencedTableName: 'patients', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
      }),
    );
    await backfillActivationSummary(q);
    await createActivationSummaryTriggers(q);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const trigger of triggers(q.connection.options.type === 'better-sqlite3'))
      await q.query(`DROP TRIGGER IF EXISTS ${trigger.name}`);
    await q.dropTable('activation_summary');
  }
}

const OWN = 't.representative_account_id IS NULL';
/** The token-derived columns of one patient (`patient` is an SQL expression), straight from the raw tables. */
const firstInvite = (patient: string) =>
  `(SELECT MIN(t.created_at) FROM portal_tokens t WHERE t.patient_id = ${patient} AND t.purpose = 'invite' AND ${OWN})`;
const sentEmails = (patient: string) =>
  `(SELECT COUNT(*) FROM portal_tokens t JOIN mail_outbox o ON o.portal_token_id = t.id WHERE t.patient_id = ${patient} AND ${OWN} AND o.status = 'sent')`;
const firstOf = (column: 'opened_at' | 'used_at', patient: string) =>
  `(SELECT MIN(t.${column}) FROM portal_tokens t WHERE t.patient_id = ${patient} AND ${OWN})`;
const linkTimes = (patient: string) =>
  `first_invite_at = ${firstInvite(patient)}, first_opened_at = ${firstOf('opened_at', patient)}, first_used_at = ${firstOf('used_at', patient)}`;

/** One summary row per patient, computed set-based from the raw tables (the migration, and the tests' fresh rebuild). */
export async function backfillActivationSummary(q: QueryRunner): Promise<void> {
  await q.query('DELETE FROM activation_summary');
  await q.query(
    `INSERT INTO activation_summary
       (patient_id, access_enabled, has_username, first_login_at, provider_id, first_invite_at, sent_emails, first_opened_at, first_used_at)
     SELECT p.id, COALESCE(pa.access_enabled, 0), CASE WHEN pa.username IS NULL THEN 0 ELSE 1 END, pa.first_login_at,
            p.primary_provider_id, ${firstInvite('p.id')}, ${sentEmails('p.id')}, ${firstOf('opened_at', 'p.id')},
            ${firstOf('used_at', 'p.id')}
       FROM patients p LEFT JOIN portal_accounts pa ON pa.patient_id = p.id`,
  );
}

interface Trigger {
  name: string;
  event: 'INSERT' | 'UPDATE' | 'DELETE';
  table: string;
  /** Runs the body only when this holds (written for both databases with `changed()`). */
  when: string | null;
  body: string[];
}

function triggers(sqlite: boolean): Trigger[] {
  /** A column's value changed (NULL-safe). */
  const changed = (...columns: string[]) =>
    `(${columns.map((c) => (sqlite ? `OLD.${c} IS NOT NEW.${c}` : `NOT (OLD.${c} <=> NEW.${c})`)).join(' OR ')})`;
  const ignore = sqlite ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
  /** The summary row exists for a patient who gets a link before an account (rows are per patient). */
  const ensureRow = (patient: string) =>
    `${ignore} INTO activation_summary (patient_id, provider_id) SELECT p.id, p.primary_provider_id FROM patients p WHERE p.id = ${patient}`;
  const earliest = (column: string, value: string, condition = 'TRUE') =>
    `${column} = CASE WHEN ${condition} AND ${value} IS NOT NULL AND (${column} IS NULL OR ${value} < ${column}) THEN ${value} ELSE ${column} END`;
  /**
   * ensureRow then `update`. On MariaDB the update goes first and the row is inserted only when it changed
   * nothing (measured: an INSERT IGNORE per link made set-based link writes ~6× slower; every patient with an
   * account has a row already). Correct either way: an update that changed nothing is simply run again.
   */
  const ensuredUpdate = (update: string) =>
    sqlite
      ? [ensureRow('NEW.patient_id'), update]
      : [update, `IF ROW_COUNT() = 0 THEN ${ensureRow('NEW.patient_id')}; ${update}; END IF`];
  const ownPatientOf = (token: string) => `(SELECT t.patient_id FROM portal_tokens t WHERE t.id = ${token} AND ${OWN})`;
  const accountColumns = `access_enabled = NEW.access_enabled, has_username = CASE WHEN NEW.username IS NULL THEN 0 ELSE 1 END, first_login_at = NEW.first_login_at`;
  return [
    {
      name: 'trg_as_accounts_ins',
      event: 'INSERT',
      table: 'portal_accounts',
      when: null,
      body: [ensureRow('NEW.patient_id'), `UPDATE activation_summary SET ${accountColumns} WHERE patient_id = NEW.patient_id`],
    },
    {
      name: 'trg_as_accounts_upd',
      event: 'UPDATE',
      table: 'portal_accounts',
      when: changed('access_enabled', 'username', 'first_login_at', 'patient_id'),
      body: [
        // An account moved to another patient (never done by the app) leaves its old patient without one.
        `UPDATE activation_summary SET access_enabled = 0, has_username = 0, first_login_at = NULL
          WHERE patient_id = OLD.patient_id AND OLD.patient_id <> NEW.patient_id`,
        `UPDATE activation_summary SET ${accountColumns} WHERE patient_id = NEW.patient_id`,
      ],
    },
    {
      name: 'trg_as_accounts_del',
      event: 'DELETE',
      table: 'portal_accounts',
      when: null,
      body: [
        `UPDATE activation_summary SET access_enabled = 0, has_username = 0, first_login_at = NULL WHERE patient_id = OLD.patient_id`,
      ],
    },
    {
      name: 'trg_as_patients_upd',
      event: 'UPDATE',
      table: 'patients',
      when: changed('primary_provider_id'),
      body: ['UPDATE activation_summary SET provider_id = NEW.primary_provider_id WHERE patient_id = NEW.id'],
    },
    {
      // The bulk invite's path (10,000 links in one statement): no recount, only the earliest times.
      name: 'trg_as_tokens_ins',
      event: 'INSERT',
      table: 'portal_tokens',
      when: 'NEW.representative_account_id IS NULL',
      body: ensuredUpdate(
        `UPDATE activation_summary SET ${earliest('first_invite_at', 'NEW.created_at', "NEW.purpose = 'invite'")},
                ${earliest('first_opened_at', 'NEW.opened_at')}, ${earliest('first_used_at', 'NEW.used_at')}
          WHERE patient_id = NEW.patient_id`,
      ),
    },
    {
      // Opening and using a link (one row at a time): recount the patient's link times from their own links.
      name: 'trg_as_tokens_upd',
      event: 'UPDATE',
      table: 'portal_tokens',
      when: changed('created_at', 'purpose', 'opened_at', 'used_at'),
      body: [`UPDATE activation_summary SET ${linkTimes('activation_summary.patient_id')} WHERE patient_id = NEW.patient_id`],
    },
    {
      // Never done by the app today; kept exact anyway (a link moved to another patient or account).
      name: 'trg_as_tokens_move',
      event: 'UPDATE',
      table: 'portal_tokens',
      when: changed('patient_id', 'representative_account_id'),
      body: [
        ensureRow('NEW.patient_id'),
        `UPDATE activation_summary SET ${linkTimes('activation_summary.patient_id')}, sent_emails = ${sentEmails('activation_summary.patient_id')}
          WHERE patient_id IN (OLD.patient_id, NEW.patient_id)`,
      ],
    },
    {
      name: 'trg_as_tokens_del',
      event: 'DELETE',
      table: 'portal_tokens',
      when: null,
      body: [
        `UPDATE activation_summary SET ${linkTimes('activation_summary.patient_id')}, sent_emails = ${sentEmails('activation_summary.patient_id')}
          WHERE patient_id = OLD.patient_id`,
      ],
    },
    {
      name: 'trg_as_outbox_ins',
      event: 'INSERT',
      table: 'mail_outbox',
      when: "NEW.status = 'sent' AND NEW.portal_token_id IS NOT NULL",
      body: [
        `UPDATE activation_summary SET sent_emails = sent_emails + 1 WHERE patient_id = ${ownPatientOf('NEW.portal_token_id')}`,
      ],
    },
    {
      // The sender's "sent" marks and a hard bounce (sent → bounced) move the count; other status changes do not.
      name: 'trg_as_outbox_upd',
      event: 'UPDATE',
      table: 'mail_outbox',
      when: `(${sqlite ? "(OLD.status = 'sent') IS NOT (NEW.status = 'sent')" : "(OLD.status = 'sent') <> (NEW.status = 'sent')"} OR ${changed('portal_token_id')})`,
      body: [
        `UPDATE activation_summary SET sent_emails = sent_emails - 1 WHERE OLD.status = 'sent' AND patient_id = ${ownPatientOf('OLD.portal_token_id')}`,
        `UPDATE activation_summary SET sent_emails = sent_emails + 1 WHERE NEW.status = 'sent' AND patient_id = ${ownPatientOf('NEW.portal_token_id')}`,
      ],
    },
    {
      name: 'trg_as_outbox_del',
      event: 'DELETE',
      table: 'mail_outbox',
      when: "OLD.status = 'sent' AND OLD.portal_token_id IS NOT NULL",
      body: [
        `UPDATE activation_summary SET sent_emails = sent_emails - 1 WHERE patient_id = ${ownPatientOf('OLD.portal_token_id')}`,
      ],
    },
  ];
}

/** The trigger names (the migrations test checks that they all exist after the last migration). */
export const ACTIVATION_SUMMARY_TRIGGERS = triggers(true).map((trigger) => trigger.name);

/**
 * (Re)creates the triggers. On SQLite TypeORM changes a column by copying the table and dropping the old one, which
 * drops its triggers: a later migration that alters portal_accounts, patients, portal_tokens or mail_outbox calls
 * this after (as with createListGenerationTriggers; test/e2e/database/migrations.e2e-spec.ts fails otherwise).
 */
export async function createActivationSummaryTriggers(q: QueryRunner): Promise<void> {
  const sqlite = q.connection.options.type === 'better-sqlite3';
  for (const trigger of triggers(sqlite)) {
    await q.query(`DROP TRIGGER IF EXISTS ${trigger.name}`);
    const body = trigger.body.map((statement) => `${statement};`).join(' ');
    if (sqlite) {
      const when = trigger.when ? ` WHEN ${trigger.when}` : '';
      await q.query(
        `CREATE TRIGGER ${trigger.name} AFTER ${trigger.event} ON ${trigger.table} FOR EACH ROW${when} BEGIN ${body} END`,
      );
    } else {
      const guarded = trigger.when ? `IF ${trigger.when} THEN ${body} END IF;` : body;
      await q.query(
        `CREATE TRIGGER ${trigger.name} AFTER ${trigger.event} ON ${trigger.table} FOR EACH ROW BEGIN ${guarded} END`,
      );
    }
  }
}
