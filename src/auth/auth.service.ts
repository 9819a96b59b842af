import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditContext } from '../audit/audit-context';
import { AuditEntry, AuditService } from '../audit/audit.service';
import { StaffUser } from './entities/staff-user.entity';
import { SecondFactorService } from './mfa/second-factor.service';
import { PasswordHasher } from './passwords/password-hasher.service';
import { StaffPrincipal } from './staff-principal';
import { runInTransaction } from '../database/transactions';

export const MAX_FAILED_SIGN_INS = 5;
export const LOCKOUT_MINUTES = 15;

export const normalizeEmail = (email: string) => email.normalize('NFKC').trim().toLowerCase();

export function toPrincipal(user: StaffUser): StaffPrincipal {
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
  ) {}

  /** The principal, or null for every kind of failure (unknown, wrong password, disabled, locked): callers answer alike. */
  async authenticate(email: string, password: string, context: AuditContext): Promise<StaffPrincipal | null> {
    const normalized = normalizeEmail(email);
    const user = await this.users.createQueryBuilder('u').addSelect('u.passwordHash').where('u.email = :email', { email: normalized }).getOne();
    // Always verify a hash, so an unknown email costs as much time as a wrong password.
    const passwordMatches = await this.hasher.verify(user?.passwordHash, password);
    const failure = { ...context, actorType: 'staff' as const, actorId: user?.id ?? null, actorLabel: normalized.slice(0, 254) };
    const now = new Date();

    if (!user || user.disabled) {
      await this.audit.record(failure, { action: 'staff.sign_in', outcome: 'failure', details: { reason: user ? 'disabled' : 'unknown_email' } });
      return null;
    }
    if (user.lockedUntil && user.lockedUntil > now) {
      await this.audit.record(failure, { action: 'staff.sign_in', outcome: 'failure', details: { reason: 'locked' } });
      return null;
    }
    if (!passwordMatches) {
      await this.recordFailure(user.id, failure, { action: 'staff.sign_in', outcome: 'failure', details: { reason: 'wrong_password' } });
      return null;
    }
    const success = { ...failure, actorId: user.id, actorLabel: user.email };
    if (await this.secondFactors.hasSecondFactor(user.id)) {
      // Half-way: the failure counter is reset only by the second step, or a known password would reopen the code guessing.
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

  async isLocked(id: number): Promise<boolean> {
    const user = await this.users.findOneBy({ id });
    return !!user?.lockedUntil && user.lockedUntil > new Date();
  }

  /**
   * One failed attempt (wrong password or wrong second-factor code, counted together):
   * the 5th locks the account for 15 minutes. Returns whether the account is now locked.
   */
  async recordFailure(id: number, context: AuditContext, entry: AuditEntry): Promise<boolean> {
    return runInTransaction(this.users.manager, async (tx) => {
      // Counted in SQL so parallel attempts cannot lose increments.
      await tx.createQueryBuilder().update(StaffUser).set({ failedLoginCount: () => 'failed_login_count + 1' }).where('id = :id', { id }).execute();
      const { failedLoginCount } = await tx.findOneByOrFail(StaffUser, { id });
      await this.audit.record(context, { ...entry, details: { ...entry.details, failures: failedLoginCount } }, tx);
      if (failedLoginCount < MAX_FAILED_SIGN_INS) return false;
      await tx.update(StaffUser, { id }, { failedLoginCount: 0, lockedUntil: new Date(Date.now() + LOCKOUT_MINUTES * 60_000) });
      await this.audit.record(context, { action: 'staff.locked_out', outcome: 'denied', details: { minutes: LOCKOUT_MINUTES } }, tx);
      return true;
    });
  }

  /** Re-reads the user behind a session; null ends the session (disabled, or all sessions revoked). */
  async principalForSession(id: number, generation: number): Promise<StaffPrincipal | null> {
    const user = await this.users.findOneBy({ id });
    if (!user || user.disabled || user.sessionGeneration !== generation) return null;
    return toPrincipal(user);
  }

  async sessionGenerationOf(id: number): Promise<number> {
    return (await this.users.findOneByOrFail({ id })).sessionGeneration;
  }
}
