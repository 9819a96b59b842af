import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { isCalendarDate } from '../../common/time/calendar-date';
import { runInTransaction } from '../../database/transactions';
import { PortalTokensRepository } from '../../invitations/portal-tokens.repository';
import { message } from '../../i18n/messages';

/**
 * What a link's holder can be asked before the password form. A patient's link asks the date of
 * birth; a representative's link (issue #16) adds the representative's own last name.
 */
export type IdentityQuestion = 'dateOfBirth' | 'representativeLastName';

/** One answer the server expects, from the database; never sent to the browser. */
export interface ExpectedAnswer {
  question: IdentityQuestion;
  value: string;
}

/** What the form sent, by question (unvalidated). */
export type GivenAnswers = Partial<Record<IdentityQuestion, unknown>>;

/** The link being checked: the failures are counted on it. */
export interface CheckedLink {
  tokenId: number;
  patientId: number;
  purpose: string;
}

/** Wrong answers allowed per link; the last one revokes it. */
export const IDENTITY_CHECK_ATTEMPTS = 5;

export type IdentityCheckResult =
  | { outcome: 'passed' }
  /** Not an answer at all (empty, not a date): a message, nothing counted. */
  | { outcome: 'unanswerable'; errors: Partial<Record<IdentityQuestion, string[]>>; questions: IdentityQuestion[] }
  | { outcome: 'wrong'; attemptsLeft: number }
  /** That was the last allowed wrong answer: the link is revoked. */
  | { outcome: 'locked' }
  /** The link stopped working meanwhile (used, revoked). */
  | { outcome: 'link_closed' };

interface QuestionRule {
  /** The comparable form of an answer, or a message for the holder. */
  normalise(value: string): { value: string } | { problem: string };
}

const RULES: Record<IdentityQuestion, QuestionRule> = {
  // The one calendar-date rule; the browser's date field sends YYYY-MM-DD.
  dateOfBirth: {
    normalise: (value) =>
      isCalendarDate(value.trim()) ? { value: value.trim() } : { problem: message('messages:identity.dateOfBirth') },
  },
  // Case, width and spacing do not make a last name wrong.
  representativeLastName: {
    normalise: (value) => {
      const folded = value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
      return folded ? { value: folded } : { problem: message('messages:identity.lastName') };
    },
  },
};

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * The identity check between opening a link and choosing a password: the answers are compared
 * here on the server (never echoed back), wrong ones are counted on the link, and the
 * IDENTITY_CHECK_ATTEMPTS-th revokes it. Callers pass the expected answers, so each kind of
 * link decides what it asks.
 */
@Injectable()
export class IdentityCheckService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: PortalTokensRepository,
    private readonly audit: AuditService,
  ) {}

  /** The questions the form shows, in order. */
  questionsFor(expected: ExpectedAnswer[]): IdentityQuestion[] {
    return expected.map((answer) => answer.question);
  }

  async verify(
    link: CheckedLink,
    expected: ExpectedAnswer[],
    given: GivenAnswers,
    actor: AuditContext,
  ): Promise<IdentityCheckResult> {
    const errors: Partial<Record<IdentityQuestion, string[]>> = {};
    let allRight = expected.length > 0;
    for (const answer of expected) {
      const rule = RULES[answer.question];
      const raw = given[answer.question];
      const normalised = rule.normalise(typeof raw === 'string' ? raw : '');
      if ('problem' in normalised) {
        errors[answer.question] = [normalised.problem];
        continue;
      }
      const wanted = rule.normalise(answer.value);
      // Compared as digests of equal length, in constant time.
      if (!('value' in wanted) || !timingSafeEqual(digest(normalised.value), digest(wanted.value))) allRight = false;
    }
    const questions = this.questionsFor(expected);
    if (Object.keys(errors).length) return { outcome: 'unanswerable', errors, questions };
    if (allRight) {
      await this.audit.record(actor, {
        action: 'portal.identity_checked',
        patientId: link.patientId,
        details: { purpose: link.purpose, questions },
      });
      return { outcome: 'passed' };
    }
    return runInTransaction(this.dataSource, async (tx) => {
      const counted = await this.tokens.recordIdentityFailure(link.tokenId, IDENTITY_CHECK_ATTEMPTS, new Date(), tx);
      if (!counted) return { outcome: 'link_closed' } as const;
      const details = { purpose: link.purpose, questions, failures: counted.failures };
      await this.audit.record(
        actor,
        { action: 'portal.identity_checked', outcome: 'failure', patientId: link.patientId, details },
        tx,
      );
      if (!counted.revoked) return { outcome: 'wrong', attemptsLeft: IDENTITY_CHECK_ATTEMPTS - counted.failures } as const;
      await this.audit.record(
        actor,
        { action: 'portal.identity_locked', outcome: 'denied', patientId: link.patientId, details },
        tx,
      );
      return { outcome: 'locked' } as const;
    });
  }
}
