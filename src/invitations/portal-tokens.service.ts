import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { chunks, execute, fromSqlDateTime, isSqliteManager, placeholders, toSqlDateTime } from '../database/sql';
import type { PortalTokenPurpose } from './entities/portal-token.entity';
import { hashToken, isWellFormedToken } from './tokens';

/** The hash a link's token is looked up by, or null when the token is malformed (no database work then). */
export function tokenHashOf(raw: unknown): string | null {
  return isWellFormedToken(raw) ? hashToken(raw) : null;
}

/** Why a link does not work; recorded in the audit trail, never shown (the patient sees one page for all). */
export type TokenFailure = 'malformed' | 'unknown' | 'wrong_purpose' | 'expired' | 'used' | 'revoked' | 'email_changed' | 'access_disabled';

/** The patient behind a usable link: what the set-password page and the password rules need. */
export interface TokenHolder {
  tokenId: number;
  patientId: number;
  purpose: PortalTokenPurpose;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  email: string;
  username: string | null;
}

export type TokenCheck = { ok: true; holder: TokenHolder } | { ok: false; reason: TokenFailure; patientId: number | null };

interface TokenRow {
  token_id: number;
  patient_id: number;
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
  access_enabled: number | boolean | null;
}

/**
 * Invite and reset links: looked up by the SHA-256 of the token only, single use,
 * expiring, bound to the address they were sent to, revoked when superseded.
 */
@Injectable()
export class PortalTokensService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Opening a link (GET) changes nothing: mail scanners prefetch links. Takes the token's
   * hash (see tokenHashOf), which is also what the patient's session keeps between the
   * link and the form, so the raw token is stored nowhere.
   */
  check(tokenHash: string | null, purpose: PortalTokenPurpose, now = new Date()): Promise<TokenCheck> {
    return this.lookup(this.dataSource.manager, tokenHash, purpose, now, false);
  }

  /**
   * Uses the token up inside the caller's transaction (the one that writes the password):
   * the row is locked (MySQL/MariaDB) and only an UPDATE that still finds it unused,
   * unrevoked and unexpired counts, so of parallel submissions exactly one wins.
   */
  async consume(tx: EntityManager, tokenHash: string | null, purpose: PortalTokenPurpose, now = new Date()): Promise<TokenCheck> {
    const check = await this.lookup(tx, tokenHash, purpose, now, true);
    if (!check.ok) return check;
    const changed = await execute(
      tx,
      'UPDATE portal_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?',
      [toSqlDateTime(now), check.holder.tokenId, toSqlDateTime(now)],
    );
    if (changed !== 1) return { ok: false, reason: 'used', patientId: check.holder.patientId };
    return check;
  }

  /**
   * Revokes every outstanding (unused, unrevoked) link of a patient: a new link was issued,
   * the email changed, access was disabled or the password was set. Pass the transaction
   * of the change so both commit together.
   */
  async revokeTokens(patientId: number, reason: string, tx: EntityManager = this.dataSource.manager, now = new Date()): Promise<number> {
    return this.revokeTokensOf(tx, [patientId], reason, now);
  }

  /** The same for many patients (bulk invites), in chunks that stay under bound-parameter limits. */
  async revokeTokensOf(tx: EntityManager, patientIds: number[], reason: string, now = new Date(), except?: number): Promise<number> {
    let revoked = 0;
    for (const chunk of chunks(patientIds)) {
      // A dead link must not still go out: its email, if not yet sent, is cancelled (body erased).
      await execute(
        tx,
        `UPDATE mail_outbox SET status = 'cancelled', text_body = NULL, html_body = NULL, last_error = ?
          WHERE status = 'pending' AND portal_token_id IN (
            SELECT id FROM portal_tokens WHERE patient_id IN (${placeholders(chunk.length)}) AND used_at IS NULL AND revoked_at IS NULL${except ? ' AND id <> ?' : ''})`,
        [`link revoked: ${reason}`.slice(0, 500), ...chunk, ...(except ? [except] : [])],
      );
      revoked += await execute(
        tx,
        `UPDATE portal_tokens SET revoked_at = ?, revoked_reason = ? WHERE patient_id IN (${placeholders(chunk.length)}) AND used_at IS NULL AND revoked_at IS NULL${except ? ' AND id <> ?' : ''}`,
        [toSqlDateTime(now), reason.slice(0, 32), ...chunk, ...(except ? [except] : [])],
      );
    }
    return revoked;
  }

  private async lookup(db: EntityManager, hash: string | null, purpose: PortalTokenPurpose, now: Date, lock: boolean): Promise<TokenCheck> {
    if (!hash || !/^[0-9a-f]{64}$/.test(hash)) return { ok: false, reason: 'malformed', patientId: null };
    if (lock && !isSqliteManager(db)) {
      // Serialises parallel submissions of one link (SQLite runs one writer at a time anyway).
      await db.query('SELECT id FROM portal_tokens WHERE token_hash = ? FOR UPDATE', [hash]);
    }
    const rows: TokenRow[] = await db.query(
      `SELECT t.id AS token_id, t.patient_id, t.purpose, t.sent_to, t.expires_at, t.used_at, t.revoked_at,
              p.first_name, p.last_name, p.date_of_birth, p.email, pa.username, pa.access_enabled
         FROM portal_tokens t
         JOIN patients p ON p.id = t.patient_id
         LEFT JOIN portal_accounts pa ON pa.patient_id = t.patient_id
        WHERE t.token_hash = ?`,
      [hash],
    );
    const row = rows[0];
    if (!row) return { ok: false, reason: 'unknown', patientId: null };
    const fail = (reason: TokenFailure): TokenCheck => ({ ok: false, reason, patientId: Number(row.patient_id) });
    if (row.purpose !== purpose) return fail('wrong_purpose');
    if (row.used_at) return fail('used');
    if (row.revoked_at) return fail('revoked');
    if (fromSqlDateTime(row.expires_at)!.getTime() <= now.getTime()) return fail('expired');
    if (!row.access_enabled || Number(row.access_enabled) === 0) return fail('access_disabled');
    // Bound to the address it was sent to: after an email change the old link is dead.
    if (!row.email || row.email !== row.sent_to) return fail('email_changed');
    return {
      ok: true,
      holder: {
        tokenId: Number(row.token_id),
        patientId: Number(row.patient_id),
        purpose: row.purpose,
        firstName: row.first_name,
        lastName: row.last_name,
        dateOfBirth: typeof row.date_of_birth === 'string' ? row.date_of_birth.slice(0, 10) : row.date_of_birth.toISOString().slice(0, 10),
        email: row.email,
        username: row.username,
      },
    };
  }
}
