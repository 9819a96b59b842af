import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { MailOutboxRepository } from './outbox.repository';
import { PortalTokensRepository } from './portal-tokens.repository';
import { ACTIVATION_PURPOSES, type ActivationPurpose, type PortalTokenPurpose } from './entities/portal-token.entity';
import { hashToken, isWellFormedToken } from './tokens';

/** The hash a link's token is looked up by, or null when the token is malformed (no database work then). */
export function tokenHashOf(raw: unknown): string | null {
  return isWellFormedToken(raw) ? hashToken(raw) : null;
}

/** The purpose a link must have, or any of several (an activation code: clinic or letter). */
export type LinkPurposes = PortalTokenPurpose | readonly PortalTokenPurpose[];

/** Why a link does not work; recorded in the audit trail, never shown (the patient sees one page for all). */
export type TokenFailure =
  'malformed' | 'unknown' | 'wrong_purpose' | 'expired' | 'used' | 'revoked' | 'email_changed' | 'access_disabled';

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
  preferredLanguage: string | null;
  /**
   * A representative's link (issue 16): it sets up the representative's own account; the
   * patient fields above are the patient they act for, `email`/`username` stay the patient's.
   */
  representative: { accountId: number; fullName: string; email: string; username: string | null } | null;
}

export type TokenCheck = { ok: true; holder: TokenHolder } | { ok: false; reason: TokenFailure; patientId: number | null };

/**
 * Invite and reset links: looked up by the SHA-256 of the token only, single use,
 * expiring, bound to the address they were sent to, revoked when superseded.
 */
@Injectable()
export class PortalTokensService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: PortalTokensRepository,
    private readonly outbox: MailOutboxRepository,
  ) {}

  /**
   * Opening a link (GET) changes nothing: mail scanners prefetch links. Takes the token's
   * hash (see tokenHashOf), which is also what the patient's session keeps between the
   * link and the form, so the raw token is stored nowhere.
   */
  check(tokenHash: string | null, purpose: LinkPurposes, now = new Date()): Promise<TokenCheck> {
    return this.lookup(this.dataSource.manager, tokenHash, purpose, now, false);
  }

  /**
   * Uses the token up inside the caller's transaction (the one that writes the password):
   * the row is locked (MySQL/MariaDB) and only an UPDATE that still finds it unused,
   * unrevoked and unexpired counts, so of parallel submissions exactly one wins.
   */
  async consume(tx: EntityManager, tokenHash: string | null, purpose: LinkPurposes, now = new Date()): Promise<TokenCheck> {
    const check = await this.lookup(tx, tokenHash, purpose, now, true);
    if (!check.ok) return check;
    if (!(await this.tokens.markUsed(check.holder.tokenId, now, tx)))
      return { ok: false, reason: 'used', patientId: check.holder.patientId };
    return check;
  }

  /**
   * Revokes every outstanding (unused, unrevoked) link of a patient: a new link was issued,
   * the email changed, access was disabled or the password was set. Pass the transaction
   * of the change so both commit together.
   */
  async revokeTokens(
    patientId: number,
    reason: string,
    tx: EntityManager = this.dataSource.manager,
    now = new Date(),
  ): Promise<number> {
    return this.revokeTokensOf(tx, [patientId], reason, now);
  }

  /** The same for many patients (bulk invites), in chunks that stay under bound-parameter limits. */
  async revokeTokensOf(
    tx: EntityManager,
    patientIds: number[],
    reason: string,
    now = new Date(),
    except?: number,
  ): Promise<number> {
    // A dead link must not still go out: its email, if not yet sent, is cancelled (body erased).
    await this.outbox.cancelUnsentForOpenLinksOf(patientIds, `link revoked: ${reason}`, tx, except);
    return this.tokens.revokeOpenFor(patientIds, reason, now, tx, except);
  }

  /** Revokes a representative account's open links (all, or those acting for `patientId`), cancelling unsent emails. */
  async revokeRepresentativeLinks(
    tx: EntityManager,
    accountId: number,
    patientId: number | null,
    reason: string,
    now = new Date(),
    except?: number,
  ): Promise<number> {
    await this.outbox.cancelUnsentForRepresentativeLinks(accountId, patientId, `link revoked: ${reason}`, tx, except);
    return this.tokens.revokeOpenForRepresentative(accountId, patientId, reason, now, tx, except);
  }

  private async lookup(
    db: EntityManager,
    hash: string | null,
    purpose: LinkPurposes,
    now: Date,
    lock: boolean,
  ): Promise<TokenCheck> {
    if (!hash || !/^[0-9a-f]{64}$/.test(hash)) return { ok: false, reason: 'malformed', patientId: null };
    const row = await this.tokens.findByHash(hash, lock, db);
    if (!row) return { ok: false, reason: 'unknown', patientId: null };
    const fail = (reason: TokenFailure): TokenCheck => ({ ok: false, reason, patientId: row.patientId });
    if (!(typeof purpose === 'string' ? [purpose] : purpose).includes(row.purpose)) return fail('wrong_purpose');
    if (row.usedAt) return fail('used');
    if (row.revokedAt) return fail('revoked');
    if (row.expiresAt.getTime() <= now.getTime()) return fail('expired');
    if (!row.accessEnabled) return fail('access_disabled');
    // Bound to the address it was sent to: after an email change the old link is dead. An activation
    // link went to no address (an email change revokes it instead, with the patient's other links).
    const activation = ACTIVATION_PURPOSES.includes(row.purpose as ActivationPurpose);
    const boundTo = row.representative ? row.representative.email : row.email;
    if (!activation && (!boundTo || boundTo !== row.sentTo)) return fail('email_changed');
    return {
      ok: true,
      holder: {
        tokenId: row.tokenId,
        patientId: row.patientId,
        purpose: row.purpose,
        firstName: row.firstName,
        lastName: row.lastName,
        dateOfBirth: row.dateOfBirth,
        email: row.email ?? '',
        username: row.username,
        preferredLanguage: row.preferredLanguage,
        representative: row.representative,
      },
    };
  }
}
