import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { chunks, isSqliteManager, placeholders, toSqlDateTime } from '../database/sql';

/**
 * The activation funnel's stages as one number per patient (stored in `stage`): each stage implies the ones
 * before it, as the report counts them (portal-access/activation-filters.ts's funnelConditionSql says the same
 * over the raw tables). 0 = access not enabled.
 */
export const FUNNEL_STAGE_NUMBER = { enabled: 1, invited: 2, delivered: 3, opened: 4, set_up: 5, signed_in: 6 } as const;

/** The stage from a summary row's milestones (unqualified columns, so it serves the UPDATE and the backfill). */
const STAGE_SQL = `CASE WHEN access_enabled = 0 THEN 0 WHEN first_invite_at IS NULL THEN 1 WHEN delivered_emails = 0 THEN 2
  WHEN opened = 0 THEN 3 WHEN set_up = 0 THEN 4 WHEN signed_in = 0 THEN 5 ELSE 6 END`;
const SET_UP_SQL = 'access_enabled = 1 AND first_invite_at IS NOT NULL AND delivered_emails > 0 AND opened = 1 AND set_up = 1';
/** Text of a stored datetime starts "YYYY-MM" on both databases; never invited is null. */
const MONTH_SQL = 'SUBSTR(CAST(first_invite_at AS CHAR), 1, 7)';

/**
 * Per patient, from the raw tables: the first own invite, how many of the own links' emails were delivered
 * (status 'sent' now: a hard bounce takes one back), whether an own link was opened, the first own link used.
 * A representative's link carries the patient's id too but sets up the representative's account: never counted.
 */
const OWN = 't.representative_account_id IS NULL';

/**
 * Own-link emails per patient among `count` outbox ids. CROSS JOIN keeps the ids as the driving table: SQLite
 * otherwise walks every own link by the representative index (125 ms at 25k links, for each group of sent emails,
 * which held the embedded default's mail rate to a third of raw); MySQL and MariaDB read it as an inner join.
 */
export const deliveredByPatientSql = (count: number) =>
  `SELECT t.patient_id, COUNT(*) AS n FROM mail_outbox o CROSS JOIN portal_tokens t ON t.id = o.portal_token_id
    WHERE o.id IN (${placeholders(count)}) AND ${OWN} AND t.patient_id IS NOT NULL GROUP BY t.patient_id`;
const LINKS_PER_PATIENT = `SELECT t.patient_id,
         MIN(CASE WHEN ${OWN} AND t.purpose = 'invite' THEN t.created_at END) AS first_invite,
         SUM(CASE WHEN ${OWN} AND o.status = 'sent' THEN 1 ELSE 0 END) AS delivered,
         MAX(CASE WHEN ${OWN} AND t.opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened,
         MIN(CASE WHEN ${OWN} THEN t.used_at END) AS first_used
    FROM portal_tokens t LEFT JOIN mail_outbox o ON o.portal_token_id = t.id
   GROUP BY t.patient_id`;

/** Each patient's tags with the patient's stage and set-up time (the rebuild takes all, a change its patients'). */
const COPY_TAGS_SQL = `INSERT INTO activation_funnel_tags (patient_id, tag_id, stage, span_ms)
  SELECT pt.patient_id, pt.tag_id, f.stage, f.span_ms FROM patient_tags pt JOIN activation_funnel f ON f.patient_id = pt.patient_id`;

const flag = (condition: string) => `CASE WHEN ${condition} THEN 1 ELSE 0 END`;

/**
 * activation_funnel (one row per patient account) and activation_funnel_tags (one per patient and tag): the
 * activation report's numbers kept as they happen instead of recomputed per request (issue 17: ≤ 100 ms at 100k).
 * The only writer of both tables. The owners of the milestones call it inside their own write transaction, after
 * their own change (portal_accounts, portal_tokens, mail_outbox, patients, patient_tags), so the summary commits
 * or rolls back with it.
 *
 * Lock order, the same for every writer: the caller's own rows first (the patient's account or patient row, a
 * link, an email), then the summary rows, in ascending patient id (ids sorted here, one IN list per chunk), then
 * their tag rows. Every change is a plain set or a commutative increment on the row (never read, then written),
 * so concurrent writers on one patient serialise on its row and lose nothing; a deadlock or a Galera
 * certification conflict (1213) rolls back the caller's whole transaction, which runInTransaction runs again.
 */
@Injectable()
export class ActivationFunnelRepository {
  /** Summary rows for new portal accounts (an import's, the demo seed's), from the rows just written. */
  async addAccounts(patientIds: number[], tx: EntityManager): Promise<void> {
    for (const chunk of chunks(sorted(patientIds))) {
      await tx.query(
        `INSERT INTO activation_funnel (patient_id, access_enabled, primary_provider_id, set_up, signed_in, delivered_emails, opened, stage)
         SELECT pa.patient_id, pa.access_enabled, p.primary_provider_id, ${flag('pa.username IS NOT NULL')},
                ${flag('pa.first_login_at IS NOT NULL')}, 0, 0, 0
           FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.patient_id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      await this.derive(chunk, tx);
      await this.copyTags(chunk, tx);
    }
  }

  /** Access enabled or disabled. */
  accessChanged(patientIds: number[], enabled: boolean, tx: EntityManager): Promise<void> {
    return this.set(patientIds, 'access_enabled = ?', [enabled ? 1 : 0], tx);
  }

  /** The patient chose a username (from a link, or staff set one). */
  setUp(patientId: number, tx: EntityManager): Promise<void> {
    return this.set([patientId], 'set_up = 1', [], tx);
  }

  /** A successful sign-in (only the first one moves the funnel; later ones set the same). */
  signedIn(patientId: number, tx: EntityManager): Promise<void> {
    return this.set([patientId], 'signed_in = 1', [], tx);
  }

  /** Own invite links issued at `at`: the first invite is the earliest. */
  invited(patientIds: number[], at: Date, tx: EntityManager): Promise<void> {
    const when = toSqlDateTime(at);
    return this.set(
      patientIds,
      'first_invite_at = CASE WHEN first_invite_at IS NULL OR first_invite_at > ? THEN ? ELSE first_invite_at END',
      [when, when],
      tx,
    );
  }

  /** A link page opened for the first time (a representative's link moves nothing). */
  async linkOpened(tokenId: number, tx: EntityManager): Promise<void> {
    const patientId = await this.ownLinkPatient(tokenId, tx);
    if (patientId !== null) await this.set([patientId], 'opened = 1', [], tx);
  }

  /** A link used at `at` (the password set): the first own link used dates the set-up. */
  async linkUsed(tokenId: number, at: Date, tx: EntityManager): Promise<void> {
    const patientId = await this.ownLinkPatient(tokenId, tx);
    const when = toSqlDateTime(at);
    if (patientId !== null)
      await this.set(
        [patientId],
        'first_used_at = CASE WHEN first_used_at IS NULL OR first_used_at > ? THEN ? ELSE first_used_at END',
        [when, when],
        tx,
      );
  }

  /**
   * Emails whose status just became 'sent' (delta +1) or left 'sent' (a hard bounce: −1). Only emails carrying
   * one of the patient's own links count; a count, not a flag, so a bounce of one of two delivered emails
   * leaves the patient delivered.
   */
  async emailsDelivered(outboxIds: Array<string | number>, delta: 1 | -1, tx: EntityManager): Promise<void> {
    const byCount = new Map<number, number[]>();
    for (const chunk of chunks(outboxIds)) {
      const rows: Array<{ patient_id: number | string; n: number | string }> = await tx.query(
        deliveredByPatientSql(chunk.length),
        chunk,
      );
      for (const row of rows) {
        const n = Number(row.n) * delta;
        byCount.set(n, [...(byCount.get(n) ?? []), Number(row.patient_id)]);
      }
    }
    for (const [n, patientIds] of byCount) await this.set(patientIds, 'delivered_emails = delivered_emails + ?', [n], tx);
  }

  /** The patient's primary provider changed (the report groups by it). */
  providerChanged(patientId: number, providerId: number | null, tx: EntityManager): Promise<void> {
    return this.set([patientId], 'primary_provider_id = ?', [providerId], tx);
  }

  /** The patients' tags changed: their tag rows become a copy of patient_tags with the patient's stage. */
  async tagsChanged(patientIds: number[], tx: EntityManager): Promise<void> {
    for (const chunk of chunks(sorted(patientIds))) {
      await tx.query(`DELETE FROM activation_funnel_tags WHERE patient_id IN (${placeholders(chunk.length)})`, chunk);
      await this.copyTags(chunk, tx);
    }
  }

  /**
   * Recomputes both tables from the raw tables (what the migration's backfill does): for data written by hand
   * rather than through the app (the bench's set-based seed, tests' fixtures), and the check that the kept
   * summary is right.
   */
  async rebuild(db: DataSource | EntityManager): Promise<void> {
    await db.query('DELETE FROM activation_funnel_tags');
    await db.query('DELETE FROM activation_funnel');
    await db.query(
      `INSERT INTO activation_funnel (patient_id, access_enabled, primary_provider_id, first_invite_at, delivered_emails, opened, first_used_at, set_up, signed_in, stage)
       SELECT pa.patient_id, pa.access_enabled, p.primary_provider_id, f.first_invite, COALESCE(f.delivered, 0), COALESCE(f.opened, 0),
              f.first_used, ${flag('pa.username IS NOT NULL')}, ${flag('pa.first_login_at IS NOT NULL')}, 0
         FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id LEFT JOIN (${LINKS_PER_PATIENT}) f ON f.patient_id = pa.patient_id`,
    );
    await db.query(`UPDATE activation_funnel SET ${this.derivedSet(db)}`);
    await db.query(COPY_TAGS_SQL);
  }

  /** One milestone change on these patients' rows, then the stage, span and month that follow from them. */
  private async set(patientIds: number[], assignment: string, params: unknown[], tx: EntityManager): Promise<void> {
    for (const chunk of chunks(sorted(patientIds))) {
      await tx.query(`UPDATE activation_funnel SET ${assignment} WHERE patient_id IN (${placeholders(chunk.length)})`, [
        ...params,
        ...chunk,
      ]);
      await this.derive(chunk, tx);
    }
  }

  /**
   * A separate statement from the milestone's: MariaDB evaluates an UPDATE's assignments left to right with the
   * new values, SQLite with the old ones; here nothing reads a column this statement writes.
   */
  private async derive(patientIds: number[], tx: EntityManager): Promise<void> {
    const list = placeholders(patientIds.length);
    await tx.query(`UPDATE activation_funnel SET ${this.derivedSet(tx)} WHERE patient_id IN (${list})`, patientIds);
    await tx.query(
      `UPDATE activation_funnel_tags
          SET stage = (SELECT f.stage FROM activation_funnel f WHERE f.patient_id = activation_funnel_tags.patient_id),
              span_ms = (SELECT f.span_ms FROM activation_funnel f WHERE f.patient_id = activation_funnel_tags.patient_id)
        WHERE patient_id IN (${list})`,
      patientIds,
    );
  }

  private derivedSet(db: DataSource | EntityManager): string {
    const spanMs = isSqliteManager(db)
      ? 'CAST(ROUND((julianday(first_used_at) - julianday(first_invite_at)) * 86400000) AS INTEGER)'
      : 'TIMESTAMPDIFF(MICROSECOND, first_invite_at, first_used_at) DIV 1000';
    return `stage = ${STAGE_SQL}, span_ms = CASE WHEN ${SET_UP_SQL} AND first_used_at IS NOT NULL THEN ${spanMs} END,
            invite_month = ${MONTH_SQL}`;
  }

  private async copyTags(patientIds: number[], tx: EntityManager): Promise<void> {
    await tx.query(`${COPY_TAGS_SQL} WHERE pt.patient_id IN (${placeholders(patientIds.length)})`, patientIds);
  }

  /** The patient of a link that is the patient's own (null for a representative's). */
  private async ownLinkPatient(tokenId: number, tx: EntityManager): Promise<number | null> {
    const [row]: Array<{ patient_id: number | string }> = await tx.query(
      `SELECT t.patient_id FROM portal_tokens t WHERE t.id = ? AND ${OWN} AND t.patient_id IS NOT NULL`,
      [tokenId],
    );
    return row ? Number(row.patient_id) : null;
  }
}

const sorted = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);
