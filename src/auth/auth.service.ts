import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditContext } from '../audit/audit-context';
import { AuditEntry, AuditService } from '../audit/audit.service';
import { StaffUser } from './entities/staff-user.entity';
import { SecondFactorService } from './mfa/second-factor.service';
import { PasswordHasher } from './passwords/password-hasher.service';
import { StaffPrincipal } from './staff-principal';
import { StaffNoticeMailer } from './staff-notice-mailer';
import { StaffUsersRepository } from './staff-users.repository';
import { type AttemptLock, type AttemptResult, LOCKOUT_MINUTES, type OnWrongAttempt } from './lockout/attempt-lock';

export { LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS } from './lockout/attempt-lock';

/** The lockout rule over staff_users' columns (StaffUsersRepository), provided by AuthModule. */
export const STAFF_ATTEMPTS = Symbol('STAFF_ATTEMPTS');

export const normalizeEmail = (email: string) => email.normalize('NFKC').trim().toLowerCase();

export function toPrincipal(user: StaffUser): StaffPrincipal {
  return { id: user.id, email: user.email, name: user.name, role: user.role, mustChangePassword: user.mustChangePassword };
}

/** The signed-in user a session stands for: none when the account was disabled or its sessions were ended since. */
export function sessionPrincipal(
  user: Pick<StaffUser, 'id' | 'email' | 'name' | 'role' | 'mustChangePassword' | 'disabled' | 'sessionGeneration'> | null,
  generation: number,
): StaffPrincipal | null {
  if (!user || user.disabled || user.sessionGeneration !== generation) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role, mustChangePassword: user.mustChangePassword };
}

/** Staff sign-in rules: generic failures, lockout after repeated failures, audit of every attempt. */
@Injectable()
export class AuthService {
  constructor(
    @InjectRepository(StaffUser) private readonly users: Repository<StaffUser>,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly secondFactors: SecondFactorService,
    private readonly staffRows: StaffUsersRepository,
    private readonly notices: StaffNoticeMailer,
    @Inject(STAFF_ATTEMPTS) private readonly attempts: AttemptLock,
  ) {}

  /** The principal, or null for every kind of failure (unknown, wrong password, disabled, locked): callers answer alike. */
  async authenticate(email: string, password: string, context: AuditContext): Promise<StaffPrincipal | null> {
    const normalized = normalizeEmail(email);
    const user = await this.staffRows.findWithPasswordByEmail(normalized);
    const failure = { ...context, actorType: 'staff' as const, actorId: user?.id ?? null, actorLabel: normalized.slice(0, 254) };
    const refuse = async (reason: string) => {
      // A hash is verified whatever the reason, so unknown, disabled and locked cost as much time as a wrong password.
      await this.hasher.verify(null, password);
      await this.audit.record(failure, { action: 'staff.sign_in', outcome: 'failure', details: { reason } });
      return null;
    };

    if (!user || user.disabled) return refuse(user ? 'disabled' : 'unknown_email');
    const result = await this.attempt(
      user.id,
      failure,
      { action: 'staff.sign_in', outcome: 'failure', details: { reason: 'wrong_password' } },
      () => this.hasher.verify(user.passwordHash, password),
    );
    if (result.outcome === 'refused') return refuse('locked');
    if (result.outcome === 'wrong') return null;
    const success = { ...failure, actorId: user.id, actorLabel: user.email };
    if (await this.secondFactors.hasSecondFactor(user.id)) {
      // Half-way: the counter is reset only by the second step, or a known password would reopen the code guessing.
      await this.attempts.release(user.id);
      await this.audit.record(success, { action: 'staff.sign_in', details: { secondFactor: 'pending' } });
    } else {
      await this.completeSignIn(user.id);
      await this.audit.record(success, { action: 'staff.sign_in' });
    }
    return toPrincipal(user);
  }

  /** A completed sign-in: failures forgotten, last sign-in time kept. */
  async completeSignIn(id: number): Promise<void> {
    await this.users.update({ id }, { failedLoginCount: 0, lockedUntil: null, lastLoginAt: new Date() });
  }

  /**
   * A signed-in user re-enters their password (a password change, a sensitive action). Guesses
   * count with sign-in failures, so a stolen session cannot guess without limit; the right
   * password forgets earlier failures. `action` names the audit row of a failure.
   */
  async verifyOwnPassword(
    id: number,
    password: string,
    context: AuditContext,
    action: string,
  ): Promise<'ok' | 'wrong' | 'locked'> {
    const result = await this.attempt(
      id,
      context,
      { action, outcome: 'failure', details: { reason: 'wrong_current_password' } },
      async () => this.hasher.verify((await this.staffRows.getWithPassword(id)).passwordHash, password),
    );
    if (result.outcome === 'refused') {
      await this.audit.record(context, { action, outcome: 'failure', details: { reason: 'locked' } });
      return 'locked';
    }
    if (result.outcome === 'wrong') return result.locked ? 'locked' : 'wrong';
    await this.users.update({ id }, { failedLoginCount: 0 });
    return 'ok';
  }

  isLocked(id: number): Promise<boolean> {
    return this.attempts.isLocked(id);
  }

  /**
   * One counted attempt of this user (password, second-factor code, current password on a change;
   * the lockout rule: lockout/attempt-lock.ts). A wrong one is audited as `entry` with the count;
   * the one that reaches the limit locks the account, is audited and tells the user.
   */
  attempt<T>(
    id: number,
    context: AuditContext,
    entry: AuditEntry,
    check: () => Promise<T | false | null>,
  ): Promise<AttemptResult<T>> {
    const onWrong: OnWrongAttempt = async ({ failures, locked }, tx) => {
      await this.audit.record(context, { ...entry, details: { ...entry.details, failures } }, tx);
      if (!locked) return;
      await this.audit.record(
        context,
        { action: 'staff.locked_out', outcome: 'denied', details: { minutes: LOCKOUT_MINUTES } },
        tx,
      );
      // Only the attempt that locks the account sends the notice (later refusals while locked do not).
      await this.notices.queueFor(tx, id, 'account_locked');
    };
    return this.attempts.attempt(id, check, onWrong);
  }

  /** Re-reads the user behind a session; null ends the session (disabled, or all sessions revoked). */
  async principalForSession(id: number, generation: number): Promise<StaffPrincipal | null> {
    return sessionPrincipal(await this.users.findOneBy({ id }), generation);
  }

  async sessionGenerationOf(id: number): Promise<number> {
    return (await this.users.findOneByOrFail({ id })).sessionGeneration;
  }
}
