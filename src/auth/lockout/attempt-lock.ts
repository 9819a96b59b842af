import type { FactoryProvider, Type } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { runInTransaction } from '../../database/transactions';
import type { LockoutColumns } from './lockout-columns';

/** Failed sign-in attempts (passwords and second-factor codes together) before an account locks. */
export const MAX_FAILED_SIGN_INS = 5;
export const LOCKOUT_MINUTES = 15;

/** The sentence every lockout message shares, built from the constants so text and rule never drift apart. */
export const LOCKOUT_RULE = `After ${MAX_FAILED_SIGN_INS} failed attempts an account is locked for ${LOCKOUT_MINUTES} minutes.`;
/** The same rule's numbers, for translated messages (`{{attempts}}`, `{{minutes}}`). */
export const LOCKOUT_VALUES = { attempts: MAX_FAILED_SIGN_INS, minutes: LOCKOUT_MINUTES };

/** How one counted attempt ended. */
export type AttemptResult<T> =
  /** Not checked at all: the account is locked, or attempts still in flight used the limit up. */
  | { outcome: 'refused' }
  /** Counted as a failure; `locked`: the account is locked now (by this failure or a parallel one). */
  | { outcome: 'wrong'; locked: boolean }
  /** Right, and still counted until the caller completes the sign-in (the owner resets the columns) or releases it. */
  | { outcome: 'right'; value: T };

/** A failure's record (audit rows, the lockout notice), written in the transaction that counts it; `locked` for the one failure that took the lock. */
export type OnWrongAttempt = (failure: { failures: number; locked: boolean }, tx: EntityManager) => Promise<void>;

/**
 * The lockout rule, written once for every kind of account over its owner's LockoutColumns. An
 * attempt (a password, a second-factor code, a passkey, the current password on an account page)
 * is reserved by one conditional UPDATE before its slow check, so no more than
 * MAX_FAILED_SIGN_INS guesses are ever evaluated, however many arrive at once on however many
 * instances; a wrong one locks the account for LOCKOUT_MINUTES once the reserved count reached the
 * limit. What a right one means (signed in, or a second step still pending) is the caller's.
 */
export class AttemptLock {
  constructor(
    private readonly columns: LockoutColumns,
    private readonly dataSource: DataSource,
  ) {}

  /** Reserves, runs `check` (false or null: wrong) and counts a wrong answer, recorded by `onWrong` in the same transaction. */
  async attempt<T>(
    id: number,
    check: () => Promise<T | false | null>,
    onWrong: OnWrongAttempt,
    now = new Date(),
  ): Promise<AttemptResult<T>> {
    if (!(await this.columns.reserveAttempt(id, MAX_FAILED_SIGN_INS, now))) return { outcome: 'refused' };
    const value = await check();
    if (value !== false && value !== null) return { outcome: 'right', value };
    const until = new Date(now.getTime() + LOCKOUT_MINUTES * 60_000);
    const tookLock = await runInTransaction(this.dataSource, async (tx) => {
      const failure = await this.columns.lockAtLimit(id, MAX_FAILED_SIGN_INS, until, tx);
      await onWrong(failure, tx);
      return failure.locked;
    });
    // Read after the commit: a parallel failure may have taken the lock meanwhile.
    return { outcome: 'wrong', locked: tookLock || (await this.isLocked(id, now)) };
  }

  /** A right answer whose sign-in is not complete (a second step is pending): the attempt no longer counts. */
  release(id: number): Promise<void> {
    return this.columns.releaseAttempt(id);
  }

  isLocked(id: number, now = new Date()): Promise<boolean> {
    return this.columns.isLockedAt(id, now);
  }
}

/** The rule over one owner's columns, as a Nest provider (`owner`: the repository of the account table). */
export const attemptLockProvider = (token: symbol, owner: Type<LockoutColumns>): FactoryProvider<AttemptLock> => ({
  provide: token,
  inject: [owner, DataSource],
  useFactory: (columns: LockoutColumns, dataSource: DataSource) => new AttemptLock(columns, dataSource),
});
