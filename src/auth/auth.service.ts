import { Injectable } from '@nestjs/common';
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
import { LOCKOUT_MINUTES } from './lockout/attempt-lock';
import { STAFF_ATTEMPTS } from './lockout/attempt-locks.repository';
import { runInTransaction } from '../database/transactions';

export { LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS } from './lockout/attempt-lock';

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
    // Reserved before the slow hash check: parallel guesses (on any instance) can never exceed the limit.
    if (!(await this.reserveAttempt(user.id))) return refuse('locked');
    if (!(await this.hasher.verify(user.passwordHash, password))) {
      await this.recordFailure(user.id, failure, {
        action: 'staff.sign_in',
        outcome: 'failure',
        details: { reason: 'wrong_password' },
      });
      return null;
    }
    const success = { ...failure, actorId: user.id, actorLabel: user.email };
    if (await this.secondFactors.hasSecondFactor(user.id)) {
      // Half-way: the counter is reset only by the second step, or a known password would reopen the code guessing.
      await STAFF_ATTEMPTS.release(this.users.manager, user.id);
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
    if (!(await this.reserveAttempt(id))) {
      await this.audit.record(context, { action, outcome: 'failure', details: { reason: 'locked' } });
      return 'locked';
    }
    const user = await this.staffRows.getWithPassword(id);
    if (!(await this.hasher.verify(user.passwordHash, password))) {
      const locked = await this.recordFailure(id, context, {
        action,
        outcome: 'failure',
        details: { reason: 'wrong_current_password' },
      });
      return locked ? 'locked' : 'wrong';
    }
    await this.users.update({ id }, { failedLoginCount: 0 });
    return 'ok';
  }

  isLocked(id: number): Promise<boolean> {
    return STAFF_ATTEMPTS.isLocked(this.users.manager, id);
  }

  /**
   * Counts one attempt (password, second-factor code, current password on a change) before it is checked;
   * false when the account is locked or the limit is used up — the attempt must then not be evaluated.
   */
  reserveAttempt(id: number): Promise<boolean> {
    return STAFF_ATTEMPTS.reserve(this.users.manager, id);
  }

  /**
   * A reserved attempt was wrong: audited with the count; the attempt that reaches the limit locks
   * the account for LOCKOUT_MINUTES. Returns whether the account is now locked.
   */
  async recordFailure(id: number, context: AuditContext, entry: AuditEntry): Promise<boolean> {
    return runInTransaction(this.users.manager, async (tx) => {
      const { failures, locked } = await STAFF_ATTEMPTS.fail(tx, id);
      await this.audit.record(context, { ...entry, details: { ...entry.details, failures } }, tx);
      if (locked)
        await this.audit.record(
          context,
          { action: 'staff.locked_out', outcome: 'denied', details: { minutes: LOCKOUT_MINUTES } },
          tx,
        );
      // Only the attempt that locks the account sends the notice (later refusals while locked do not).
      if (locked) await this.notices.queueFor(tx, id, 'account_locked');
      return locked || (await STAFF_ATTEMPTS.isLocked(tx, id));
    });
  }

  /** Re-reads the user behind a session; null ends the session (disabled, or all sessions revoked). */
  async principalForSession(id: number, generation: number): Promise<StaffPrincipal | null> {
    return sessionPrincipal(await this.users.findOneBy({ id }), generation);
  }

  async sessionGenerationOf(id: number): Promise<number> {
    return (await this.users.findOneByOrFail({ id })).sessionGeneration;
  }
}
