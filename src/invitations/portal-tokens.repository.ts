import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  chunks,
  execute,
  forUpdate,
  fromSqlDate,
  fromSqlDateTime,
  insertRows,
  placeholders,
  toSqlDateTime,
} from '../database/sql';
import { ActivationFunnelRepository } from '../patients/activation-funnel.repository';
import type { PortalTokenPurpose } from './entities/portal-token.entity';
import { hashToken, newRawToken } from './tokens';

/** A demo patient's invite link (src/demo): when it was sent, and when it was opened and used, if it was. */
export interface DemoLink {
  patientId: number;
  sentTo: string;
  createdAt: Date;
  expiresAt: Date;
  openedAt: Date | null;
  usedAt: Date | null;
}

/** A link with what deciding whether it still works needs (its patient and portal account). */
export interface TokenWithHolder {
  tokenId: number;
  patientId: number;
  purpose: PortalTokenPurpose;
  sentTo: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  email: string | null;
  username: string | null;
  accessEnabled: boolean;
  deceased: boolean;
  /** The address a hard bounce came back from, if any. */
  bouncedEmail: string | null;
  /** BCP 47 tag on file: the link's pages open in it unless the patient picked a language. */
  preferredLanguage: string | null;
  /** Set on a representative's invite/reset link: the account it sets up (its own address and username). */
  representative: { accountId: number; fullName: string; email: string; username: string | null } | null;
}

/** Who asked for a link: staff, the reminder scheduler, or the patient ("send me a new link"). */
export type IssuedBy = 'staff' | 'reminder' | 'patient';

/** A patient's own links; a representative's links (same patient_id, the patient they act for) are handled apart. */
const OWN_LINK = 'representative_account_id IS NULL';

export interface NewToken {
  patientId: number;
  purpose: PortalTokenPurpose;
  hash: string;
  sentTo: string;
  expiresAt: Date;
  /** SHA-256 of the typed code (activation links only). */
  codeHash?: string | null;
  /** A representative's link: the account it sets up. */
  representativeAccountId?: number | null;
}

/** A link as the staff's Patient Portal tab lists it, with the delivery of the email that carried it. */
export interface LinkWithDelivery {
  id: number;
  purpose: PortalTokenPurpose;
  sentTo: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  /** The outbox status of its email, or null when no email row exists. */
  delivery: string | null;
  sentAt: Date | null;
  openedAt: Date | null;
  failedAt: Date | null;
  bouncedAt: Date | null;
  bounceKind: string | null;
  /** staff | reminder | patient (null: staff, before issue 17). */
  issuedBy: string | null;
  /** The representative account the link was for (issue 16), or null for the patient's own link. */
  representativeAccountId: number | null;
}

/**
 * portal_tokens: the only place its SQL lives. Issuing, opening and using a link move the activation funnel:
 * its summary is updated in the same transaction, after the link row.
 */
@Injectable()
export class PortalTokensRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly funnel: ActivationFunnelRepository,
  ) {}

  /** The link with this hash, locked for the caller's transaction when `lock` (MySQL/MariaDB). */
  async findByHash(hash: string, lock: boolean, db: EntityManager = this.dataSource.manager): Promise<TokenWithHolder | null> {
    // Serialises parallel submissions of one link (SQLite runs one writer at a time anyway).
    if (lock && forUpdate(db)) await db.query(`SELECT id FROM portal_tokens WHERE token_hash = ?${forUpdate(db)}`, [hash]);
    const rows: Array<{
      token_id: number | string;
      patient_id: number | string;
      purpose: PortalTokenPurpose;
      sent_to: string;
      expires_at: Date | string;
      used_at: Date | string | null;
      revoked_at: Date | string | null;
      first_name: string;
      last_name: string;
      date_of_birth: Date | string;
      email: string | null;
      username: string | null;
      access_enabled: number | string | boolean | null;
      deceased: number | string | boolean | null;
      bounced_email: string | null;
      preferred_language: string | null;
      representative_account_id: number | string | null;
      rep_full_name: string | null;
      rep_email: string | null;
      rep_username: string | null;
    }> = await db.query(
      `SELECT t.id AS token_id, t.patient_id, t.purpose, t.sent_to, t.expires_at, t.used_at, t.revoked_at,
              p.first_name, p.last_name, p.date_of_birth, p.email, p.deceased, p.preferred_language,
              pa.username, pa.access_enabled, pa.bounced_email,
              t.representative_account_id, ra.full_name AS rep_full_name, ra.email AS rep_email, ra.username AS rep_username
         FROM portal_tokens t
         JOIN patients p ON p.id = t.patient_id
         LEFT JOIN portal_accounts pa ON pa.patient_id = t.patient_id
         LEFT JOIN representative_accounts ra ON ra.id = t.representative_account_id
        WHERE t.token_hash = ?`,
      [hash],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      tokenId: Number(row.token_id),
      patientId: Number(row.patient_id),
      purpose: row.purpose,
      sentTo: row.sent_to,
      expiresAt: fromSqlDateTime(row.expires_at)!,
      usedAt: fromSqlDateTime(row.used_at),
      revokedAt: fromSqlDateTime(row.revoked_at),
      firstName: row.first_name,
      lastName: row.last_name,
      dateOfBirth: fromSqlDate(row.date_of_birth),
      email: row.email,
      username: row.username,
      accessEnabled: Number(row.access_enabled ?? 0) === 1,
      deceased: Number(row.deceased ?? 0) === 1 || row.deceased === true,
      bouncedEmail: row.bounced_email ?? null,
      preferredLanguage: row.preferred_language,
      representative:
        row.representative_account_id === null || row.representative_account_id === undefined
          ? null
          : {
              accountId: Number(row.representative_account_id),
              fullName: String(row.rep_full_name),
              email: String(row.rep_email),
              username: row.rep_username ?? null,
            },
    };
  }

  /** The token hash of the link a typed activation code belongs to, or null. */
  async tokenHashOfCode(codeHash: string): Promise<string | null> {
    const [row]: Array<{ token_hash: string }> = await this.dataSource.query(
      'SELECT token_hash FROM portal_tokens WHERE code_hash = ?',
      [codeHash],
    );
    return row?.token_hash ?? null;
  }

  /** One link's state, for the staff page that waits for the patient to finish. */
  async stateOf(
    tokenId: number,
    patientId: number,
  ): Promise<{ usedAt: Date | null; revokedAt: Date | null; expiresAt: Date; representativeAccountId: number | null } | null> {
    const [row]: Array<{
      used_at: Date | string | null;
      revoked_at: Date | string | null;
      expires_at: Date | string;
      representative_account_id: number | string | null;
    }> = await this.dataSource.query(
      'SELECT used_at, revoked_at, expires_at, representative_account_id FROM portal_tokens WHERE id = ? AND patient_id = ?',
      [tokenId, patientId],
    );
    if (!row) return null;
    return {
      usedAt: fromSqlDateTime(row.used_at),
      revokedAt: fromSqlDateTime(row.revoked_at),
      expiresAt: fromSqlDateTime(row.expires_at)!,
      representativeAccountId: row.representative_account_id === null ? null : Number(row.representative_account_id),
    };
  }

  /** Uses the link up if it is still unused, unrevoked and unexpired at `now`; false when another request won. */
  async markUsed(tokenId: number, now: Date, tx: EntityManager): Promise<boolean> {
    const at = toSqlDateTime(now);
    const changed = await execute(
      tx,
      'UPDATE portal_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?',
      [at, tokenId, at],
    );
    if (changed === 1) await this.funnel.linkUsed(tokenId, now, tx);
    return changed === 1;
  }

  /**
   * Counts one wrong identity-check answer on a still-open link and revokes it once `limit` is
   * reached, in the caller's transaction; the failures so far (null when the link was no longer open).
   */
  async recordIdentityFailure(
    tokenId: number,
    limit: number,
    now: Date,
    tx: EntityManager,
  ): Promise<{ failures: number; revoked: boolean } | null> {
    const open = 'id = ? AND used_at IS NULL AND revoked_at IS NULL';
    if (!(await execute(tx, `UPDATE portal_tokens SET identity_failures = identity_failures + 1 WHERE ${open}`, [tokenId])))
      return null;
    const [row]: Array<{ identity_failures: number | string }> = await tx.query(
      'SELECT identity_failures FROM portal_tokens WHERE id = ?',
      [tokenId],
    );
    const failures = Number(row.identity_failures);
    if (failures < limit) return { failures, revoked: false };
    await execute(tx, `UPDATE portal_tokens SET revoked_at = ?, revoked_reason = 'identity_check' WHERE ${open}`, [
      toSqlDateTime(now),
      tokenId,
    ]);
    return { failures, revoked: true };
  }

  /** Revokes the open (unused, unrevoked) links of these patients, but `exceptTokenId`; returns how many. */
  async revokeOpenFor(
    patientIds: number[],
    reason: string,
    now: Date,
    tx: EntityManager,
    exceptTokenId?: number,
  ): Promise<number> {
    let revoked = 0;
    for (const chunk of chunks(patientIds)) {
      revoked += await execute(
        tx,
        `UPDATE portal_tokens SET revoked_at = ?, revoked_reason = ? WHERE patient_id IN (${placeholders(chunk.length)}) AND ${OWN_LINK} AND used_at IS NULL AND revoked_at IS NULL${exceptTokenId ? ' AND id <> ?' : ''}`,
        [toSqlDateTime(now), reason.slice(0, 32), ...chunk, ...(exceptTokenId ? [exceptTokenId] : [])],
      );
    }
    return revoked;
  }

  /** Open links of these patients created at or after `since`: patient id → purpose and address. */
  async openSince(
    patientIds: number[],
    since: Date,
    tx: EntityManager,
  ): Promise<Array<{ patientId: number; purpose: PortalTokenPurpose; sentTo: string }>> {
    const found: Array<{ patientId: number; purpose: PortalTokenPurpose; sentTo: string }> = [];
    for (const chunk of chunks(patientIds)) {
      const rows: Array<{ patient_id: number | string; purpose: PortalTokenPurpose; sent_to: string }> = await tx.query(
        `SELECT patient_id, purpose, sent_to FROM portal_tokens
          WHERE patient_id IN (${placeholders(chunk.length)}) AND ${OWN_LINK} AND created_at >= ? AND used_at IS NULL AND revoked_at IS NULL`,
        [...chunk, toSqlDateTime(since)],
      );
      for (const row of rows) found.push({ patientId: Number(row.patient_id), purpose: row.purpose, sentTo: row.sent_to });
    }
    return found;
  }

  /**
   * The demo's links (src/demo): one emailed invite per invited demo patient, opened or used as the account's
   * status says, each the hash of a random token nobody holds (no demo link can be followed). Returns the link id
   * by patient. The activation summary is rebuilt by the seeder once all demo rows are in.
   */
  async insertDemoLinks(links: DemoLink[], tx: EntityManager): Promise<Map<number, number>> {
    const when = (value: Date | null) => (value ? toSqlDateTime(value) : null);
    const hashes = links.map(() => hashToken(newRawToken()));
    await insertRows(
      tx,
      'portal_tokens',
      ['patient_id', 'purpose', 'token_hash', 'sent_to', 'created_at', 'expires_at', 'opened_at', 'used_at', 'issued_by'],
      links.map((link, i) => [
        link.patientId,
        'invite',
        hashes[i],
        link.sentTo,
        when(link.createdAt),
        when(link.expiresAt),
        when(link.openedAt),
        when(link.usedAt),
        'staff',
      ]),
    );
    const byHash = new Map(hashes.map((hash, i) => [hash, links[i].patientId]));
    const ids = new Map<number, number>();
    for (const chunk of chunks(hashes)) {
      const rows: Array<{ id: number | string; token_hash: string }> = await tx.query(
        `SELECT id, token_hash FROM portal_tokens WHERE token_hash IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const row of rows) ids.set(byHash.get(row.token_hash)!, Number(row.id));
    }
    return ids;
  }

  /** Stores new links (hashes only) and returns their ids by hash. */
  async insertMany(
    tokens: NewToken[],
    staffId: number | null,
    now: Date,
    tx: EntityManager,
    issuedBy: IssuedBy = 'staff',
  ): Promise<Map<string, number>> {
    const nowSql = toSqlDateTime(now);
    await insertRows(
      tx,
      'portal_tokens',
      [
        'patient_id',
        'purpose',
        'token_hash',
        'code_hash',
        'sent_to',
        'created_by_staff_id',
        'created_at',
        'expires_at',
        'issued_by',
        'representative_account_id',
      ],
      tokens.map((t) => [
        t.patientId,
        t.purpose,
        t.hash,
        t.codeHash ?? null,
        t.sentTo,
        staffId,
        nowSql,
        toSqlDateTime(t.expiresAt),
        issuedBy,
        t.representativeAccountId ?? null,
      ]),
    );
    await this.funnel.invited(
      tokens.filter((t) => t.purpose === 'invite' && !t.representativeAccountId).map((t) => t.patientId),
      now,
      tx,
    );
    const ids = new Map<string, number>();
    for (const chunk of chunks(tokens.map((t) => t.hash))) {
      const rows: Array<{ id: number | string; token_hash: string }> = await tx.query(
        `SELECT id, token_hash FROM portal_tokens WHERE token_hash IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const row of rows) ids.set(row.token_hash, Number(row.id));
    }
    return ids;
  }

  /**
   * Revokes a representative account's open links: all of them, or only those sent while acting
   * for `patientId`; returns how many.
   */
  async revokeOpenForRepresentative(
    accountId: number,
    patientId: number | null,
    reason: string,
    now: Date,
    tx: EntityManager,
    exceptTokenId?: number,
  ): Promise<number> {
    return execute(
      tx,
      `UPDATE portal_tokens SET revoked_at = ?, revoked_reason = ? WHERE representative_account_id = ?${patientId ? ' AND patient_id = ?' : ''} AND used_at IS NULL AND revoked_at IS NULL${exceptTokenId ? ' AND id <> ?' : ''}`,
      [
        toSqlDateTime(now),
        reason.slice(0, 32),
        accountId,
        ...(patientId ? [patientId] : []),
        ...(exceptTokenId ? [exceptTokenId] : []),
      ],
    );
  }

  /**
   * A patient's latest `limit` links, newest first: their own, or (`whose: 'representatives'`)
   * those sent to their representatives for them.
   */
  async latestOf(
    patientId: number,
    limit: number,
    db: EntityManager = this.dataSource.manager,
    whose: 'own' | 'representatives' = 'own',
  ): Promise<LinkWithDelivery[]> {
    const rows: Array<{
      id: number | string;
      purpose: PortalTokenPurpose;
      sent_to: string;
      created_at: Date | string;
      expires_at: Date | string;
      used_at: Date | string | null;
      revoked_at: Date | string | null;
      revoked_reason: string | null;
      delivery: string | null;
      sent_at: Date | string | null;
      opened_at: Date | string | null;
      failed_at: Date | string | null;
      bounced_at: Date | string | null;
      bounce_kind: string | null;
      issued_by: string | null;
      representative_account_id: number | string | null;
    }> = await db.query(
      `SELECT t.id, t.purpose, t.sent_to, t.created_at, t.expires_at, t.used_at, t.revoked_at, t.revoked_reason, t.opened_at, t.issued_by,
              t.representative_account_id, o.status AS delivery, o.sent_at, o.failed_at, o.bounced_at, o.bounce_kind
         FROM portal_tokens t LEFT JOIN mail_outbox o ON o.portal_token_id = t.id
        WHERE t.patient_id = ? AND t.${whose === 'own' ? OWN_LINK : 'representative_account_id IS NOT NULL'}
        ORDER BY t.id DESC LIMIT ${Math.max(0, Math.floor(limit))}`,
      [patientId],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      purpose: row.purpose,
      sentTo: String(row.sent_to),
      createdAt: fromSqlDateTime(row.created_at)!,
      expiresAt: fromSqlDateTime(row.expires_at)!,
      usedAt: fromSqlDateTime(row.used_at),
      revokedAt: fromSqlDateTime(row.revoked_at),
      revokedReason: row.revoked_reason ?? null,
      delivery: row.delivery ?? null,
      sentAt: fromSqlDateTime(row.sent_at),
      openedAt: fromSqlDateTime(row.opened_at),
      failedAt: fromSqlDateTime(row.failed_at),
      bouncedAt: fromSqlDateTime(row.bounced_at),
      bounceKind: row.bounce_kind ?? null,
      issuedBy: row.issued_by ?? null,
      representativeAccountId: row.representative_account_id === null ? null : Number(row.representative_account_id),
    }));
  }

  /** Records the first opening of a link page (a GET: nothing is consumed); later openings change nothing. */
  async markOpened(tokenId: number, now: Date, tx: EntityManager): Promise<boolean> {
    const changed = await execute(tx, 'UPDATE portal_tokens SET opened_at = ? WHERE id = ? AND opened_at IS NULL', [
      toSqlDateTime(now),
      tokenId,
    ]);
    if (changed === 1) await this.funnel.linkOpened(tokenId, tx);
    return changed === 1;
  }

  /** Links a patient got since `since` that were asked for this way ("send me a new link": 3 a day). */
  countIssuedBySince(patientId: number, issuedBy: IssuedBy, since: Date, db: EntityManager = this.dataSource.manager) {
    return this.countSince(patientId, 'issued_by', issuedBy, since, db);
  }

  /** The revoked reason of a link, by hash (a superseded link may ask for a new one; a disabled one may not). */
  async revokedReasonOf(hash: string, db: EntityManager = this.dataSource.manager): Promise<string | null> {
    const [row]: Array<{ revoked_reason: string | null }> = await db.query(
      'SELECT revoked_reason FROM portal_tokens WHERE token_hash = ?',
      [hash],
    );
    return row?.revoked_reason ?? null;
  }

  /** Links of one purpose a patient got since `since` (the patient-requested reset throttle). */
  /** Links of this purpose issued to one representative account since `since`, for any patient ("Forgot password"'s cap). */
  async countRepresentativeIssuedSince(
    accountId: number,
    purpose: PortalTokenPurpose,
    since: Date,
    db: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const [row]: Array<{ n: number | string }> = await db.query(
      'SELECT COUNT(*) AS n FROM portal_tokens WHERE representative_account_id = ? AND purpose = ? AND created_at >= ?',
      [accountId, purpose, toSqlDateTime(since)],
    );
    return Number(row?.n ?? 0);
  }

  countIssuedSince(patientId: number, purpose: PortalTokenPurpose, since: Date, db: EntityManager = this.dataSource.manager) {
    return this.countSince(patientId, 'purpose', purpose, since, db);
  }

  private async countSince(
    patientId: number,
    column: 'purpose' | 'issued_by',
    value: string,
    since: Date,
    db: EntityManager,
  ): Promise<number> {
    const [row]: Array<{ n: number | string }> = await db.query(
      `SELECT COUNT(*) AS n FROM portal_tokens WHERE patient_id = ? AND ${OWN_LINK} AND ${column} = ? AND created_at >= ?`,
      [patientId, value, toSqlDateTime(since)],
    );
    return Number(row?.n ?? 0);
  }
}
