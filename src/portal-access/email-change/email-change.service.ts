import { message } from '../../i18n/messages';
import { ConflictException, HttpException, HttpStatus, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { AuthService, normalizeEmail } from '../../auth/auth.service';
import { StaffUsersRepository } from '../../auth/staff-users.repository';
import { ownPasswordProblem } from '../../auth/staff-users.service';
import type { StaffPrincipal } from '../../auth/staff-principal';
import { FormValidationException } from '../../common/validation/form-validation.exception';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { AccountNoticesService, maskEmail } from '../../invitations/account-notices.service';
import { PortalTokensService } from '../../invitations/portal-tokens.service';
import { hashToken, newRawToken } from '../../invitations/tokens';
import { type EmailChange, PortalEmailChangeService } from '../portal-email-change.service';
import { CONCURRENT_EDIT_MESSAGE } from '../../patients/patients.service';
import { PatientsRepository } from '../../patients/patients.repository';
import { PortalAccountsRepository } from '../portal-accounts.repository';
import { PortalReachService } from '../representatives/portal-reach.service';
import { type EmailChangeDecision, EmailChangePolicyService } from './email-change-policy.service';
import {
  type EmailChangeRequest,
  EmailChangeRequestsRepository,
  type EmailChangeSource,
  OPEN_STATUSES,
} from './email-change-requests.repository';
import { runInTransaction } from '../../database/transactions';

/** The link sent to the new address works this long (SECURITY.md: email-verify ≤ 24 h). */
export const EMAIL_VERIFY_TTL_HOURS = 24;
/** The old address's "this wasn't me" link works this long. */
export const EMAIL_REPORT_TTL_DAYS = 14;
/** Throttles: email changes one staff member may request per hour, and one patient may receive per day. */
export const EMAIL_CHANGES_PER_STAFF_PER_HOUR = 20;
export const EMAIL_CHANGES_PER_PATIENT_PER_DAY = 3;

/**
 * What the patient reads when the address they add at activation is held by someone else too
 * (issue #16's shared-address rule): it names no one, and the clinic can still put it on file
 * with the tab's confirmation that this patient alone reads it.
 */
export const SHARED_ADDRESS_FOR_PATIENT = message('messages:email.sharedAddress');

/** One answer for an address that may not be used, whatever the reason (it names no other account). */
export const UNUSABLE_ADDRESS = message('staff:form.unusableAddress');

export type RequestOutcome = 'awaiting_approval' | 'awaiting_confirmation';

const HOUR = 3_600_000;

/** email_change_requests.reason holds at most this many characters. */
const REASON_MAX = 500;

/**
 * The reason of an import's request (staff type their own): a key with the file's name, shown in the reader's language
 * on the queue, the Patient Portal tab and the audit trail; the name is shortened until the key fits the column.
 */
function importReason(fileName: unknown): string {
  if (typeof fileName !== 'string') return message('staff:emailChanges.reasonImportUnnamed');
  let name = [...fileName].slice(0, REASON_MAX);
  let reason = message('staff:emailChanges.reasonImport', { file: name.join('') });
  while (reason.length > REASON_MAX) {
    name = name.slice(0, Math.min(name.length - 1, Math.floor(name.length * 0.9)));
    reason = message('staff:emailChanges.reasonImport', { file: name.join('') });
  }
  return reason;
}

/**
 * Changing a patient's email, safe against insiders: the change waits — under the policy for
 * a second staff member's approval, then always for a link sent to the NEW address — and only
 * becomes the address on file when that link is used. Until then every email still goes to the
 * old address, which is told at once and can freeze the change with a "this wasn't me" link
 * (admins are alerted). The requester re-enters their password; every step is audited.
 */
@Injectable()
export class EmailChangeService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly requests: EmailChangeRequestsRepository,
    private readonly policy: EmailChangePolicyService,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
    private readonly notices: AccountNoticesService,
    private readonly emails: PortalEmailChangeService,
    private readonly tokens: PortalTokensService,
    private readonly accounts: PortalAccountsRepository,
    private readonly staffUsers: StaffUsersRepository,
    private readonly patients: PatientsRepository,
    private readonly reach: PortalReachService,
  ) {}

  open(patientId?: number): Promise<EmailChangeRequest[]> {
    return this.requests.open(patientId);
  }

  needsApproval(): Promise<boolean> {
    return this.policy.needsApproval();
  }

  /** A staff member asks for a change on the dashboard (verified with the patient, a reason, their own password). */
  async request(
    patientId: number,
    form: { email: string; reason: string; version: number; password: string },
    staff: StaffPrincipal,
    context: AuditContext,
  ): Promise<RequestOutcome> {
    const password = await this.auth.verifyOwnPassword(staff.id, form.password, context, 'patient.email_change_requested');
    if (password !== 'ok') throw new FormValidationException({ password: [ownPasswordProblem(password)] });
    const now = new Date();
    if (
      (await this.requests.countSince('requested_by', staff.id, new Date(now.getTime() - HOUR))) >=
      EMAIL_CHANGES_PER_STAFF_PER_HOUR
    ) {
      throw new HttpException(
        message('staff:refusal.emailChangesPerHour', { count: EMAIL_CHANGES_PER_STAFF_PER_HOUR }),
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    if (
      (await this.requests.countSince('patient_id', patientId, new Date(now.getTime() - 24 * HOUR))) >=
      EMAIL_CHANGES_PER_PATIENT_PER_DAY
    ) {
      throw new FormValidationException({
        email: [message('staff:form.emailChangesPerDay', { count: EMAIL_CHANGES_PER_PATIENT_PER_DAY })],
      });
    }
    const email = form.email;
    if (await this.isStaffAddress(email)) throw new FormValidationException({ email: [UNUSABLE_ADDRESS] });

    const needsApproval = await this.policy.needsApproval();
    return runInTransaction(this.dataSource, async (tx) => {
      const patient = await this.patients.lockContact(patientId, tx);
      if (!patient) throw new NotFoundException(message('staff:refusal.noSuchPatient'));
      if (patient.version !== form.version) throw new ConflictException(CONCURRENT_EDIT_MESSAGE);
      if (patient.email && patient.email.toLowerCase() === email.toLowerCase())
        throw new FormValidationException({ email: [message('staff:form.sameEmail')] });
      // The form's version moves, so a second submit of the same page is refused as stale.
      await this.patients.bumpVersion(patientId, tx);
      await this.create(
        tx,
        { patientId, firstName: patient.firstName, from: patient.email, to: email },
        needsApproval,
        'staff',
        form.reason,
        context,
        now,
        { verifiedWithPatient: true },
      );
      return needsApproval ? 'awaiting_approval' : 'awaiting_confirmation';
    });
  }

  /**
   * An import's email changes, inside the import's transaction: requested like a staff change
   * but always waiting for a second staff member's approval (no one re-entered a password for
   * them). A change already waiting with the same new address is left as it is (re-import).
   * Returns how many requests were created.
   */
  async requestFromImport(
    tx: EntityManager,
    changes: EmailChange[],
    context: AuditContext,
    details: Record<string, unknown>,
  ): Promise<number> {
    const now = new Date();
    let created = 0;
    for (const change of changes) {
      if (await this.requests.hasOpenFor(tx, change.patientId, change.to)) continue;
      await this.create(tx, change, true, 'import', importReason(details.fileName), context, now, details);
      created++;
    }
    return created;
  }

  /** Approve or reject, as the staff member chose. */
  decide(
    requestId: number,
    decision: EmailChangeDecision,
    staff: StaffPrincipal,
    context: AuditContext,
  ): Promise<EmailChangeRequest> {
    return decision === 'approve' ? this.approve(requestId, staff, context) : this.reject(requestId, staff, context);
  }

  /**
   * Why the patient may not add this address themselves, or null. The shared-address rule is
   * issue #16's, from its one place (PortalReachService.sharedEmails: another patient, another
   * patient's representative, a staff user): a shared mailbox goes on file only through staff,
   * who confirm that this patient alone reads it; the patient alone cannot.
   */
  async patientAddressProblem(patientId: number, email: string, context: AuditContext): Promise<string | null> {
    const shared = (await this.reach.sharedEmails([{ id: patientId, email }])).get(patientId);
    if (!shared) return null;
    await this.audit.record(context, {
      action: 'patient.email_change_requested',
      outcome: 'denied',
      patientId,
      details: { to: email, source: 'patient', reason: 'shared_email', sharedWith: shared.text },
    });
    return SHARED_ADDRESS_FOR_PATIENT;
  }

  /**
   * The patient typed an address while activating their account (issue #18): it becomes the
   * address on file only when they use the link sent to it (confirm, as for a staff change). No
   * approval: their identity was checked in the clinic and by the link's questions. A shared
   * address is refused (patientAddressProblem; the form checked it first, this is the last word).
   */
  async requestFromPatient(
    patientId: number,
    email: string,
    context: AuditContext,
  ): Promise<'awaiting_confirmation' | 'unusable'> {
    if (await this.patientAddressProblem(patientId, email, context)) return 'unusable';
    return runInTransaction(this.dataSource, async (tx) => {
      const patient = await this.patients.lockContact(patientId, tx);
      if (!patient) throw new NotFoundException(message('staff:refusal.noSuchPatient'));
      if (patient.email && patient.email.toLowerCase() === email.toLowerCase()) return 'unusable';
      await this.create(
        tx,
        { patientId, firstName: patient.firstName, from: patient.email, to: email },
        false,
        'patient',
        message('staff:emailChanges.reasonPatient'),
        context,
        new Date(),
        {},
      );
      return 'awaiting_confirmation';
    });
  }

  /** A different staff member approves: the link goes to the new address. */
  async approve(requestId: number, staff: StaffPrincipal, context: AuditContext): Promise<EmailChangeRequest> {
    return runInTransaction(this.dataSource, async (tx) => {
      const request = await this.decidable(tx, requestId, staff);
      if (request.status !== 'awaiting_approval') throw new ConflictException(message('staff:refusal.changeNotWaiting'));
      const now = new Date();
      const raw = newRawToken();
      const moved = await this.requests.move(
        tx,
        requestId,
        ['awaiting_approval'],
        'awaiting_confirmation',
        now,
        this.verifyColumns(raw, now, staff),
        staff.id,
      );
      if (!moved) throw new ConflictException(message('staff:refusal.changeNotWaiting'));
      await this.queueVerify(tx, request, raw);
      await this.audit.record(
        context,
        {
          action: 'patient.email_change_approved',
          patientId: request.patientId,
          details: { requestId, from: request.oldEmail, to: request.newEmail, requestedBy: request.requestedByLabel },
        },
        tx,
      );
      return request;
    });
  }

  /** A different staff member rejects (any open request, frozen ones included): nothing changes, links die. */
  async reject(requestId: number, staff: StaffPrincipal, context: AuditContext): Promise<EmailChangeRequest> {
    return runInTransaction(this.dataSource, async (tx) => {
      const request = await this.decidable(tx, requestId, staff);
      const now = new Date();
      const moved = await this.requests.move(
        tx,
        requestId,
        OPEN_STATUSES,
        'rejected',
        now,
        { verify_token_hash: null, decided_by: staff.id, decided_by_label: staff.email, decided_at: now },
        staff.id,
      );
      if (!moved) throw new ConflictException(message('staff:refusal.changeDecided'));
      await this.audit.record(
        context,
        {
          action: 'patient.email_change_rejected',
          patientId: request.patientId,
          details: { requestId, from: request.oldEmail, to: request.newEmail, status: request.status },
        },
        tx,
      );
      return request;
    });
  }

  /** For the link pages (GET): the request behind a link when it can still be used; changes nothing. */
  async usableByLink(kind: 'verify' | 'report', tokenHash: string | null): Promise<EmailChangeRequest | null> {
    if (!tokenHash) return null;
    const request = await this.requests.byTokenHash(kind, tokenHash);
    if (!request) return null;
    const now = new Date();
    if (kind === 'verify')
      return request.status === 'awaiting_confirmation' && request.verifyExpiresAt && request.verifyExpiresAt > now
        ? request
        : null;
    return request.reportExpiresAt &&
      request.reportExpiresAt > now &&
      request.status !== 'rejected' &&
      request.status !== 'superseded'
      ? request
      : null;
  }

  /**
   * The new address's link is used (POST): in one transaction the address changes (links
   * revoked, portal sessions ended, the old address told with a fresh "this wasn't me" link).
   */
  async confirm(tokenHash: string | null, context: AuditContext): Promise<boolean> {
    if (!tokenHash) return false;
    return runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const request = await this.requests.consumeVerify(tx, tokenHash, now);
      const actor = {
        ...context,
        actorType: 'patient' as const,
        actorId: request?.patientId ?? null,
        actorLabel: request ? maskEmail(request.newEmail) : null,
      };
      if (!request) {
        await this.audit.record(
          actor,
          { action: 'patient.email_change_confirmed', outcome: 'failure', details: { reason: 'invalid_link' } },
          tx,
        );
        return false;
      }
      const patient = (await this.patients.lockContact(request.patientId, tx))!;
      if ((patient.email ?? null) !== request.oldEmail) {
        // The address moved by another path since the request: this one is void.
        await this.requests.markSuperseded(tx, request.id);
        await this.audit.record(
          actor,
          {
            action: 'patient.email_change_confirmed',
            outcome: 'failure',
            patientId: request.patientId,
            details: { requestId: request.id, reason: 'address_changed_meanwhile' },
          },
          tx,
        );
        return false;
      }
      const report = newRawToken();
      await this.requests.setReportToken(
        tx,
        request.id,
        hashToken(report),
        new Date(now.getTime() + EMAIL_REPORT_TTL_DAYS * 24 * HOUR),
      );
      await this.emails.applyEmailChanges(
        tx,
        [
          {
            patientId: request.patientId,
            firstName: patient.firstName,
            from: request.oldEmail,
            to: request.newEmail,
            reportUrl: this.link('report', report),
          },
        ],
        actor,
        {
          requestId: request.id,
          reason: request.reason,
          requestedBy: request.requestedByLabel,
          approvedBy: request.decidedByLabel,
          confirmedFromNewAddress: true,
        },
      );
      await this.audit.record(
        actor,
        { action: 'patient.email_change_confirmed', patientId: request.patientId, details: { requestId: request.id } },
        tx,
      );
      return true;
    });
  }

  /**
   * "This wasn't me" from the old address (POST): an open change is frozen (no approval or
   * confirmation can complete it); a completed one ends the patient's portal sessions and links.
   * Either way admins are alerted by email and it is audited.
   */
  async report(tokenHash: string | null, context: AuditContext): Promise<'frozen' | 'after_change' | null> {
    const request = await this.usableByLink('report', tokenHash);
    if (!request) return null;
    return runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const actor = {
        ...context,
        actorType: 'patient' as const,
        actorId: request.patientId,
        actorLabel: request.oldEmail ? maskEmail(request.oldEmail) : null,
      };
      const completed = request.status === 'confirmed';
      if (completed) {
        await this.requests.clearReportToken(tx, request.id, now);
        await this.tokens.revokeTokens(request.patientId, 'email_changed', tx);
        await this.accounts.endPortalSessions([request.patientId], now, tx);
      } else if (
        !(await this.requests.move(tx, request.id, ['awaiting_approval', 'awaiting_confirmation'], 'frozen', now, {
          verify_token_hash: null,
          report_token_hash: null,
        }))
      ) {
        return null;
      }
      const admins = await this.staffUsers.activeAdmins(tx);
      const outcome = completed
        ? 'The change had already been confirmed; the patient’s portal sessions and links were ended. Check the address with the patient.'
        : 'The change is frozen: it cannot be approved or confirmed. Check it with the patient, then reject it or ask for a new one.';
      for (const admin of admins) {
        await this.notices.queue(tx, 'email_change_reported', admin.email, request.patientId, {
          firstName: admin.name,
          patientNumber: String(request.patientId),
          outcome,
          reviewUrl: `${this.config.publicBaseUrl}/admin/email-changes`,
        });
      }
      await this.audit.record(
        actor,
        {
          action: 'patient.email_change_reported',
          outcome: 'denied',
          patientId: request.patientId,
          details: { requestId: request.id, status: request.status, adminsAlerted: admins.length },
        },
        tx,
      );
      return completed ? 'after_change' : 'frozen';
    });
  }

  /** The request row, its old-address notice (with the report link) and, without approval, the new address's link. */
  private async create(
    tx: EntityManager,
    change: EmailChange,
    needsApproval: boolean,
    source: EmailChangeSource,
    reason: string,
    context: AuditContext,
    now: Date,
    details: Record<string, unknown>,
  ): Promise<void> {
    const superseded = await this.requests.supersedeOpen(tx, change.patientId, now);
    const report = newRawToken();
    const verify = needsApproval ? null : newRawToken();
    const requestId = await this.requests.insert(
      tx,
      {
        patientId: change.patientId,
        oldEmail: change.from,
        newEmail: change.to,
        status: needsApproval ? 'awaiting_approval' : 'awaiting_confirmation',
        source,
        reason,
        // An import's requester is the staff member who ran it: they cannot approve their own file's changes.
        requestedBy: context.actorType === 'staff' || context.actorType === 'import' ? context.actorId : null,
        requestedByLabel: context.actorLabel,
        verifyTokenHash: verify ? hashToken(verify) : null,
        verifyExpiresAt: verify ? new Date(now.getTime() + EMAIL_VERIFY_TTL_HOURS * HOUR) : null,
        reportTokenHash: hashToken(report),
        reportExpiresAt: new Date(now.getTime() + EMAIL_REPORT_TTL_DAYS * 24 * HOUR),
      },
      now,
    );
    if (change.from)
      await this.notices.queue(tx, 'email_change_requested', change.from, change.patientId, {
        firstName: change.firstName,
        maskedNewEmail: maskEmail(change.to),
        reportUrl: this.link('report', report),
      });
    if (verify) await this.queueVerify(tx, { patientId: change.patientId, newEmail: change.to }, verify, change.firstName);
    await this.audit.record(
      context,
      {
        action: 'patient.email_change_requested',
        patientId: change.patientId,
        details: {
          requestId,
          from: change.from,
          to: change.to,
          reason,
          source,
          needsApproval,
          supersededRequests: superseded,
          oldAddressNotified: Boolean(change.from),
          ...details,
        },
      },
      tx,
    );
  }

  /** Who may decide: a staff member other than the requester. */
  private async decidable(tx: EntityManager, requestId: number, staff: StaffPrincipal): Promise<EmailChangeRequest> {
    const request = await this.requests.byId(tx, requestId, true);
    if (!request) throw new NotFoundException(message('staff:refusal.noSuchEmailChange'));
    if (request.requestedBy === staff.id) throw new ConflictException(message('staff:refusal.ownChange'));
    return request;
  }

  private verifyColumns(raw: string, now: Date, staff: StaffPrincipal) {
    return {
      verify_token_hash: hashToken(raw),
      verify_expires_at: new Date(now.getTime() + EMAIL_VERIFY_TTL_HOURS * HOUR),
      decided_by: staff.id,
      decided_by_label: staff.email,
      decided_at: now,
    };
  }

  private async queueVerify(
    tx: EntityManager,
    request: { patientId: number; newEmail: string },
    raw: string,
    firstName?: string,
  ): Promise<void> {
    const name = firstName ?? (await this.patients.firstName(request.patientId, tx)) ?? '';
    await this.notices.queue(tx, 'email_verify', request.newEmail, request.patientId, {
      firstName: name,
      confirmUrl: this.link('verify', raw),
      validForHours: String(EMAIL_VERIFY_TTL_HOURS),
    });
  }

  private link(kind: 'verify' | 'report', raw: string): string {
    return `${this.config.publicBaseUrl}/portal/email-change/${kind === 'verify' ? 'confirm' : 'report'}/${raw}`;
  }

  private async isStaffAddress(email: string): Promise<boolean> {
    return this.staffUsers.existsWithEmail(normalizeEmail(email));
  }
}
