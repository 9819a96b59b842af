import { ConflictException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';
import { PortalAccountsRepository } from '../portal-accounts.repository';
import type { ActivationPurpose } from '../../invitations/entities/portal-token.entity';
import { PortalTokensRepository } from '../../invitations/portal-tokens.repository';
import { PortalTokensService } from '../../invitations/portal-tokens.service';
import { hashToken, newRawToken } from '../../invitations/tokens';
import { ageOn } from '../../common/time/calendar-date';
import { ClinicClock } from '../../common/time/clinic-time';
import { underSelfAccessAge } from '../portal-eligibility';
import { codeHashOf, displayCode, newActivationCode, normaliseTypedCode } from './activation-code';
import { message } from '../../i18n/messages';

/** An in-clinic code works this long: the patient is standing at the desk. */
export const CLINIC_CODE_TTL_MINUTES = 10;

/** A new activation link, shown or printed once: its raw token and code exist nowhere else. */
export interface IssuedActivation {
  patientId: number;
  tokenId: number;
  url: string;
  code: string;
  expiresAt: Date;
}

export type ActivationProgress = 'waiting' | 'done' | 'expired' | 'revoked';

/**
 * Activation links for patients without a usable email (issue #18): a one-time link (for the
 * QR code) and a short typed code, both pointing at one portal_tokens row that keeps only
 * their hashes. A new one revokes the patient's older links, like a new invite does; the
 * patient's side (identity check, username and password) is the invite's.
 */
@Injectable()
export class ActivationCodesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly tokens: PortalTokensService,
    private readonly tokenRows: PortalTokensRepository,
    private readonly accounts: PortalAccountsRepository,
    private readonly audit: AuditService,
    private readonly clock: ClinicClock,
  ) {}

  /** Staff checked the patient's photo ID at the desk: a code valid CLINIC_CODE_TTL_MINUTES, audited with who checked. */
  async issueInClinic(patientId: number, context: AuditContext): Promise<IssuedActivation> {
    return runInTransaction(this.dataSource, async (tx) => {
      const account = await this.accounts.lockForChange(patientId, tx);
      if (!account || !account.accessEnabled) throw new ConflictException(message('staff:refusal.codeNotEnabled'));
      const now = new Date();
      // The minors rule (issue #16), as for invites and letters: under the self-access age no own account.
      const [candidate] = await this.accounts.letterCandidates([patientId], tx);
      const ages = { ageOfMajority: this.config.ageOfMajority, minorSelfAccessAge: this.config.minorSelfAccessAge };
      if (candidate && underSelfAccessAge(ageOn(candidate.dateOfBirth, this.clock.dayOf(now)), ages))
        throw new ConflictException(message('staff:refusal.codeUnderSelfAccess', { age: ages.minorSelfAccessAge }));
      const [issued] = await this.issue(
        tx,
        [patientId],
        'clinic',
        new Date(now.getTime() + CLINIC_CODE_TTL_MINUTES * 60_000),
        context,
        now,
      );
      await this.audit.record(
        context,
        {
          action: 'portal.activation_code_shown',
          patientId,
          details: { photoIdCheckedBy: context.actorLabel, expiresAt: issued.expiresAt.toISOString() },
        },
        tx,
      );
      return issued;
    });
  }

  /**
   * An in-clinic code for a representative's own account (issue #18 with #16): staff checked the
   * representative's photo ID. Its link is the representative's (their earlier links are
   * superseded, the patient's own are untouched) and sets up the representative's account; the
   * caller (RepresentativesService) checks they may act for the patient and audits it.
   */
  async issueInClinicForRepresentative(
    tx: EntityManager,
    patientId: number,
    representativeAccountId: number,
    context: AuditContext,
    now = new Date(),
  ): Promise<IssuedActivation> {
    await this.tokens.revokeRepresentativeLinks(tx, representativeAccountId, null, 'superseded', now);
    const [issued] = await this.insert(
      tx,
      [patientId],
      'clinic',
      new Date(now.getTime() + CLINIC_CODE_TTL_MINUTES * 60_000),
      context,
      now,
      representativeAccountId,
    );
    return issued;
  }

  /**
   * New links for these patients inside the caller's transaction (their open links are revoked
   * first, unsent emails cancelled). Not audited here: the caller says why they were made.
   */
  async issue(
    tx: EntityManager,
    patientIds: number[],
    purpose: ActivationPurpose,
    expiresAt: Date,
    context: AuditContext,
    now = new Date(),
  ): Promise<IssuedActivation[]> {
    await this.tokens.revokeTokensOf(tx, patientIds, 'superseded', now);
    return this.insert(tx, patientIds, purpose, expiresAt, context, now);
  }

  private async insert(
    tx: EntityManager,
    patientIds: number[],
    purpose: ActivationPurpose,
    expiresAt: Date,
    context: AuditContext,
    now: Date,
    representativeAccountId: number | null = null,
  ): Promise<IssuedActivation[]> {
    const made = patientIds.map((patientId) => ({ patientId, raw: newRawToken(), code: newActivationCode() }));
    const ids = await this.tokenRows.insertMany(
      made.map((m) => ({
        patientId: m.patientId,
        purpose,
        hash: hashToken(m.raw),
        codeHash: codeHashOf(m.code),
        sentTo: '',
        expiresAt,
        representativeAccountId,
      })),
      context.actorType === 'staff' ? context.actorId : null,
      now,
      tx,
    );
    return made.map((m) => ({
      patientId: m.patientId,
      tokenId: ids.get(hashToken(m.raw))!,
      url: `${this.config.publicBaseUrl}/portal/activate/${m.raw}`,
      code: displayCode(m.code),
      expiresAt,
    }));
  }

  /** The link hash behind a typed code (null: not a code, or no such code); the caller checks the link itself. */
  async tokenHashOfTypedCode(typed: unknown): Promise<string | null> {
    const code = normaliseTypedCode(typed);
    return code ? this.tokenRows.tokenHashOfCode(codeHashOf(code)) : null;
  }

  /** Where the patient (or the representative, for their code) is with one code (the staff page polls this). */
  async progress(
    patientId: number,
    tokenId: number,
    now = new Date(),
  ): Promise<{ progress: ActivationProgress; forRepresentative: boolean } | null> {
    const state = await this.tokenRows.stateOf(tokenId, patientId);
    if (!state) return null;
    const progress: ActivationProgress = state.usedAt
      ? 'done'
      : state.revokedAt
        ? 'revoked'
        : state.expiresAt.getTime() <= now.getTime()
          ? 'expired'
          : 'waiting';
    return { progress, forRepresentative: state.representativeAccountId !== null };
  }
}
