import type { EntityManager } from 'typeorm';
import { StaffUser } from './entities/staff-user.entity';

/** Security notices a staff member gets about their own account (SECURITY.md §1); `staff_notice_<name>` fits mail_outbox.kind (32). */
export type StaffNotice =
  | 'password_changed'
  | 'totp_added'
  | 'totp_removed'
  | 'passkey_added'
  | 'passkey_removed'
  | 'recovery_codes_new'
  | 'recovery_code_used'
  | 'account_locked';

export interface StaffNoticeRecipient {
  id: number;
  email: string;
  name: string;
}

/**
 * Port: Auth may not import the outbox (src/invitations), so it asks for this and the app wires the
 * implementation (src/invitations/staff-notices.module.ts). `queue` writes the notice in the caller's
 * transaction, so it is sent by the outbox's sender exactly when the change commits.
 */
export abstract class StaffNoticeMailer {
  abstract queue(tx: EntityManager, notice: StaffNotice, to: StaffNoticeRecipient): Promise<void>;

  /** The same, for a user known by id (read in the transaction, so the address is the one on file now). */
  async queueFor(tx: EntityManager, staffUserId: number, notice: StaffNotice): Promise<void> {
    const user = await tx.findOneBy(StaffUser, { id: staffUserId });
    if (user) await this.queue(tx, notice, user);
  }
}
