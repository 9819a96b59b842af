import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import { EntityManager, Repository } from 'typeorm';
import { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { FormValidationException } from '../common/validation/form-validation.exception';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { AuthService, normalizeEmail } from './auth.service';
import { LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS } from './lockout/attempt-lock';
import { StaffRole, StaffUser } from './entities/staff-user.entity';
import { PasswordHasher } from './passwords/password-hasher.service';
import { checkNewPassword } from './passwords/password-policy';
import { StaffNoticeMailer } from './staff-notice-mailer';
import { StaffUsersRepository } from './staff-users.repository';
import { runInTransaction } from '../database/transactions';
import { message } from '../i18n/messages';

export class PasswordRejectedException extends BadRequestException {
  constructor(readonly problems: string[]) {
    super(problems.join(' '));
  }
}

/** What a user is told when the password they re-entered was refused (wrong, or the account is now locked). */
export function ownPasswordProblem(outcome: 'wrong' | 'locked'): string {
  return outcome === 'locked'
    ? `Too many wrong passwords: the account is locked for ${LOCKOUT_MINUTES} minutes. Try again later, or ask an admin to unlock it.`
    : `The current password is not right. After ${MAX_FAILED_SIGN_INS} failed attempts (here and at sign-in together) the account is locked for ${LOCKOUT_MINUTES} minutes.`;
}

/** Letters and digits with the look-alikes removed (I, l, 1, O, 0): it is read out over the phone. */
export const TEMPORARY_PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * A one-time password: shown once to the admin, must be changed at the next sign-in.
 * 24 characters from 57 (about 140 bits), in groups of four so it is easy to read aloud.
 */
export function generateTemporaryPassword(): string {
  const chars = Array.from({ length: 24 }, () => TEMPORARY_PASSWORD_ALPHABET[randomInt(TEMPORARY_PASSWORD_ALPHABET.length)]);
  return chars.join('').replace(/(.{4})(?=.)/g, '$1-');
}

/** Staff accounts: creation, role, disabling, password resets and changes — every rule and its audit row. */
@Injectable()
export class StaffUsersService {
  constructor(
    @InjectRepository(StaffUser) private readonly users: Repository<StaffUser>,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: AppConfig,
    private readonly auth: AuthService,
    private readonly staffRows: StaffUsersRepository,
    private readonly notices: StaffNoticeMailer,
  ) {}

  list(): Promise<StaffUser[]> {
    return this.users.find({ order: { name: 'ASC', id: 'ASC' } });
  }

  async get(id: number): Promise<StaffUser> {
    const user = await this.users.findOneBy({ id });
    if (!user) throw new NotFoundException('No such staff user.');
    return user;
  }

  /** Creates an account with a one-time password, returned once and never stored in clear. */
  async create(
    input: { email: string; name: string; role: StaffRole },
    context: AuditContext,
  ): Promise<{ user: StaffUser; temporaryPassword: string }> {
    const email = normalizeEmail(input.email);
    const temporaryPassword = generateTemporaryPassword();
    const passwordHash = await this.hasher.hash(temporaryPassword);
    const user = await runInTransaction(this.users.manager, async (tx) => {
      if (await tx.existsBy(StaffUser, { email }))
        throw new FormValidationException({ email: ['A staff user with that email already exists.'] });
      const created = await tx.save(
        tx.create(StaffUser, {
          email,
          name: input.name.trim(),
          role: input.role,
          passwordHash,
          mustChangePassword: true,
          passwordChangedAt: new Date(),
        }),
      );
      await this.audit.record(
        context,
        { action: 'admin.staff_created', details: { staffUserId: created.id, email, role: input.role } },
        tx,
      );
      return created;
    });
    return { user, temporaryPassword };
  }

  /**
   * An account whose holder chose the password themselves (the first-run setup link): the
   * usual password rules apply and no change is forced at sign-in. Runs inside the caller's transaction.
   */
  async createWithOwnPassword(
    input: { email: string; name: string; role: StaffRole; password: string },
    context: AuditContext,
    tx: EntityManager,
  ): Promise<StaffUser> {
    const email = normalizeEmail(input.email);
    const name = input.name.trim();
    const problems = checkNewPassword(input.password, [name, email, this.config.clinicName]);
    if (problems.length) throw new FormValidationException({ password: problems });
    if (await tx.existsBy(StaffUser, { email }))
      throw new FormValidationException({ email: ['A staff user with that email already exists.'] });
    const passwordHash = await this.hasher.hash(input.password);
    const created = await tx.save(
      tx.create(StaffUser, {
        email,
        name,
        role: input.role,
        passwordHash,
        mustChangePassword: false,
        passwordChangedAt: new Date(),
      }),
    );
    await this.audit.record(
      context,
      { action: 'admin.staff_created', details: { staffUserId: created.id, email, role: input.role, via: context.actorLabel } },
      tx,
    );
    return created;
  }

  async setRole(id: number, role: StaffRole, context: AuditContext): Promise<StaffUser> {
    return this.changeUser(id, context, async (tx, user) => {
      if (user.role === role) return null;
      if (user.id === context.actorId) throw new ConflictException('You cannot change your own role.');
      if (user.role === 'admin') await this.assertAnotherActiveAdmin(tx, user.id);
      await tx.update(StaffUser, { id }, { role, sessionGeneration: user.sessionGeneration + 1 });
      return { action: 'admin.staff_role_changed', details: { staffUserId: id, from: user.role, to: role } };
    });
  }

  async setDisabled(id: number, disabled: boolean, context: AuditContext): Promise<StaffUser> {
    return this.changeUser(id, context, async (tx, user) => {
      if (user.disabled === disabled) return null;
      if (disabled && user.id === context.actorId) throw new ConflictException('You cannot disable your own account.');
      if (disabled && user.role === 'admin') await this.assertAnotherActiveAdmin(tx, user.id);
      // Disabling ends the user's sessions at once (the session serializer checks the generation).
      await tx.update(
        StaffUser,
        { id },
        {
          disabled,
          sessionGeneration: user.sessionGeneration + 1,
          ...(disabled ? {} : { failedLoginCount: 0, lockedUntil: null }),
        },
      );
      return { action: disabled ? 'admin.staff_disabled' : 'admin.staff_enabled', details: { staffUserId: id } };
    });
  }

  async unlock(id: number, context: AuditContext): Promise<StaffUser> {
    return this.changeUser(id, context, async (tx, user) => {
      if (!user.lockedUntil && user.failedLoginCount === 0) return null;
      await tx.update(StaffUser, { id }, { lockedUntil: null, failedLoginCount: 0 });
      return { action: 'admin.staff_unlocked', details: { staffUserId: id } };
    });
  }

  /** The admin never sets or sees the user's own password: a one-time one is generated instead. */
  async resetPassword(id: number, context: AuditContext): Promise<{ user: StaffUser; temporaryPassword: string }> {
    const temporaryPassword = generateTemporaryPassword();
    const passwordHash = await this.hasher.hash(temporaryPassword);
    const user = await this.changeUser(id, context, async (tx, target) => {
      if (target.id === context.actorId) throw new ConflictException('Change your own password from your account menu.');
      await tx.update(
        StaffUser,
        { id },
        {
          passwordHash,
          mustChangePassword: true,
          failedLoginCount: 0,
          lockedUntil: null,
          passwordChangedAt: new Date(),
          sessionGeneration: target.sessionGeneration + 1,
        },
      );
      return { action: 'admin.staff_password_reset', details: { staffUserId: id } };
    });
    return { user, temporaryPassword };
  }

  /** Requires the current password; success ends the user's other sessions (the caller re-signs this one in). */
  async changeOwnPassword(id: number, currentPassword: string, newPassword: string, context: AuditContext): Promise<StaffUser> {
    const user = await this.staffRows.getWithPassword(id);
    const check = await this.auth.verifyOwnPassword(id, currentPassword, context, 'staff.password_changed');
    if (check !== 'ok') throw new PasswordRejectedException([ownPasswordProblem(check)]);
    const problems = checkNewPassword(newPassword, [user.name, user.email, this.config.clinicName]);
    if (newPassword === currentPassword) problems.push(message('messages:password.sameAsCurrent'));
    if (problems.length) throw new PasswordRejectedException(problems);
    const passwordHash = await this.hasher.hash(newPassword);
    return runInTransaction(this.users.manager, async (tx) => {
      // Bumped in SQL: a value read before the transaction could miss a parallel bump (role change, reset).
      await tx.update(
        StaffUser,
        { id },
        {
          passwordHash,
          mustChangePassword: false,
          passwordChangedAt: new Date(),
          sessionGeneration: () => 'session_generation + 1',
        },
      );
      await this.audit.record(context, { action: 'staff.password_changed' }, tx);
      // The first change from the one-time password is the admin's hand-over, not news to the user: no notice.
      if (!user.mustChangePassword) await this.notices.queue(tx, 'password_changed', user);
      // Read inside the transaction: the caller signs this session in with exactly this generation.
      return tx.findOneByOrFail(StaffUser, { id });
    });
  }

  private async assertAnotherActiveAdmin(tx: EntityManager, exceptId: number): Promise<void> {
    const others = await this.staffRows.countOtherActiveAdmins(exceptId, tx);
    if (others === 0) throw new ConflictException('The last active admin cannot be disabled or demoted.');
  }

  /** Loads the user with a row lock, applies one change and its audit row in one transaction. */
  private async changeUser(
    id: number,
    context: AuditContext,
    change: (tx: EntityManager, user: StaffUser) => Promise<{ action: string; details: Record<string, unknown> } | null>,
  ): Promise<StaffUser> {
    await runInTransaction(this.users.manager, async (tx) => {
      const user = await this.staffRows.findForUpdate(id, tx);
      if (!user) throw new NotFoundException('No such staff user.');
      const entry = await change(tx, user);
      if (entry) await this.audit.record(context, entry, tx);
    });
    return this.get(id);
  }
}
