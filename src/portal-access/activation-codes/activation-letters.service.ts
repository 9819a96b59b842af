import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';
import { ageOn } from '../../common/time/calendar-date';
import { ClinicClock } from '../../common/time/clinic-time';
import { isMailable, envelopeLines } from '../../patients/postal-address';
import { type AgeRules, type LetterBlock, letterBlock } from '../portal-eligibility';
import { type LetterCandidate, PortalAccountsRepository } from '../portal-accounts.repository';
import { ActivationCodesService } from './activation-codes.service';
import { message } from '../../i18n/messages';

export interface LetterPlan {
  letters: number;
  skipped: Partial<Record<LetterBlock, number>>;
}

/** One page of the PDF: who, where to, and the link and code printed once. */
export interface PrintedLetter {
  patientId: number;
  name: string;
  addressLines: string[];
  url: string;
  code: string;
  expiresAt: Date;
}

export interface LetterBatch {
  batchId: string;
  letters: PrintedLetter[];
  skipped: Array<{ patientId: number; reason: LetterBlock }>;
}

/**
 * Printed activation letters (issue #18) for patients without a usable email: each letter's
 * link and code live LETTER_TTL_DAYS, need the date-of-birth check, are single use and
 * hashed, and die with an email change, a disable, or a newer letter or invite. Every letter
 * and every skip is audited under one batch id (the batch report reads them back).
 */
@Injectable()
export class ActivationLettersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly accounts: PortalAccountsRepository,
    private readonly codes: ActivationCodesService,
    private readonly audit: AuditService,
    private readonly clock: ClinicClock,
  ) {}

  /** Why a candidate gets no letter, on the clinic's today: the preview and the print ask the same. */
  private blockerOn(now: Date): (candidate: LetterCandidate) => LetterBlock | null {
    const today = this.clock.dayOf(now);
    const ages: AgeRules = { ageOfMajority: this.config.ageOfMajority, minorSelfAccessAge: this.config.minorSelfAccessAge };
    return (candidate) =>
      letterBlock({ ...candidate, age: ageOn(candidate.dateOfBirth, today), mailable: isMailable(candidate.address) }, ages);
  }

  /** The preview: how many letters, and how many skipped for each reason. Writes nothing. */
  async plan(patientIds: number[]): Promise<LetterPlan> {
    const plan: LetterPlan = { letters: 0, skipped: {} };
    const blockOf = this.blockerOn(new Date());
    for (const candidate of await this.accounts.letterCandidates(patientIds, this.dataSource.manager)) {
      const block = blockOf(candidate);
      if (block) plan.skipped[block] = (plan.skipped[block] ?? 0) + 1;
      else plan.letters++;
    }
    return plan;
  }

  /** Issues the letters' links in one transaction (all or nothing) and audits each letter and skip. */
  async print(patientIds: number[], context: AuditContext): Promise<LetterBatch> {
    const batchId = randomUUID();
    return runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const blockOf = this.blockerOn(now);
      const candidates = await this.accounts.letterCandidates(patientIds, tx);
      const eligible = candidates.filter((candidate) => !blockOf(candidate));
      const skipped = candidates.flatMap((candidate) => {
        const reason = blockOf(candidate);
        return reason ? [{ patientId: candidate.patientId, reason }] : [];
      });
      const expiresAt = new Date(now.getTime() + this.config.letterTtlDays * 24 * 3_600_000);
      const issued = eligible.length
        ? await this.codes.issue(
            tx,
            eligible.map((c) => c.patientId),
            'letter',
            expiresAt,
            context,
            now,
          )
        : [];
      const byPatient = new Map(eligible.map((candidate) => [candidate.patientId, candidate]));
      const letters = issued.map((link) => {
        const candidate = byPatient.get(link.patientId)!;
        return {
          patientId: link.patientId,
          name: `${candidate.firstName} ${candidate.lastName}`,
          addressLines: envelopeLines(candidate.address),
          url: link.url,
          code: link.code,
          expiresAt: link.expiresAt,
        };
      });
      await this.audit.recordMany(
        context,
        [
          ...letters.map((letter) => ({
            action: 'portal.letter_printed',
            patientId: letter.patientId,
            batchId,
            details: { expiresAt: letter.expiresAt.toISOString() },
          })),
          ...skipped.map((skip) => ({
            action: 'portal.letter_skipped',
            outcome: 'denied' as const,
            patientId: skip.patientId,
            batchId,
            details: { reason: skip.reason },
          })),
        ],
        tx,
      );
      return { batchId, letters, skipped };
    });
  }

  /** The batch report: printed and skipped (with the reason), as audited; only the staff member who printed it. */
  async report(batchId: string, staffId: number) {
    const events = await this.audit.eventsOfBatch(batchId, ['portal.letter_printed', 'portal.letter_skipped'], staffId);
    return {
      printed: events.filter((event) => event.action === 'portal.letter_printed').map((event) => event.patientId),
      skipped: events
        .filter((event) => event.action === 'portal.letter_skipped')
        // The reason as its key (staff.json letterSkip.<reason>): the report page names it in the staff language.
        .map((event) => ({ patientId: event.patientId, reason: event.details?.reason as LetterBlock })),
    };
  }
}

/** "120 letters; 14 skipped: no postal address" (the preview's sentence), as message keys of its clauses. */
export function describeLetterPlan(plan: LetterPlan): string[] {
  const parts = [message('staff:letters.summary.letters', { count: plan.letters })];
  for (const [reason, count] of Object.entries(plan.skipped))
    parts.push(message('staff:letters.summary.skipped', { count, reason }));
  return parts;
}
