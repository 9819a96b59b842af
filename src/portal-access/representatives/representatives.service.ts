import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { SYSTEM_CONTEXT, type AuditContext } from '../../audit/audit-context';
import { ageOn, bornByForAge } from '../../common/time/calendar-date';
import { AuditService } from '../../audit/audit.service';
import { ClinicClock } from '../../common/time/clinic-time';
import { FormValidationException } from '../../common/validation/form-validation.exception';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';
import { InviteEmailRenderer } from '../../invitations/invite-email.renderer';
import { MailOutboxRepository } from '../../invitations/outbox.repository';
import { PortalTokensRepository } from '../../invitations/portal-tokens.repository';
import { PortalTokensService } from '../../invitations/portal-tokens.service';
import { hashToken, newRawToken } from '../../invitations/tokens';
import { ActivationCodesService, type IssuedActivation } from '../activation-codes/activation-codes.service';
import { LANGUAGE_MESSAGE, preferredLanguage } from '../../patients/preferred-language';
import { inviteKind } from '../portal-eligibility';
import { portalStatus, type PortalStatus } from '../portal-status';
import { emailKeyOf, RepresentativeAccountsRepository, type RepresentativeAccount } from '../representative-accounts.repository';
import type { RepresentativeDto } from './dto/representative.dto';
import { isActiveRepresentation, type EndReason } from './representative-rules';
import { type RepresentativeFields, type RepresentativeRow, RepresentativesRepository } from './representatives.repository';
import { message } from '../../i18n/messages';

/** mail_outbox.kind of a representative's emails: apart from the patient's own, so they never colour the patient's row. */
export const REPRESENTATIVE_MAIL_KIND = { invite: 'representative_invite', reset: 'representative_reset' } as const;

export const CONCURRENT_REPRESENTATIVE_CHANGE = message('staff:refusal.representativeChanged');

export const SAME_AS_PATIENT_EMAIL = message('staff:form.representativeSameEmail');

/** A representative as the Patient Portal tab lists them, with their own status colour. */
export interface TabRepresentative extends RepresentativeRow {
  active: boolean;
  /** Starts later than today. */
  upcoming: boolean;
  /** Why their access ended (the tab words it from staff.json representatives.endReason.<reason>), or null. */
  endedReasonShown: EndReason | null;
  status: PortalStatus;
  account: RepresentativeAccount | null;
  inviteKind: 'invite' | 'reset';
  /** Why no invite may go out now, or null. */
  inviteBlocked: string | null;
  /** Their own account's sign-in is locked now (too many wrong passwords); staff can unlock it. */
  locked: boolean;
}

/**
 * Authorised representatives (issue 16): staff record, edit and revoke them on the Patient
 * Portal tab and invite each at their own address to their own portal account. Every end of
 * access — revoke, end date, the patient's access disabled, the age of majority — goes through
 * endAccess: links revoked, unsent emails cancelled, the representative's sessions ended, audited.
 */
@Injectable()
export class RepresentativesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly clock: ClinicClock,
    private readonly reps: RepresentativesRepository,
    private readonly accounts: RepresentativeAccountsRepository,
    private readonly tokens: PortalTokensService,
    private readonly tokenRows: PortalTokensRepository,
    private readonly outbox: MailOutboxRepository,
    private readonly renderer: InviteEmailRenderer,
    private readonly audit: AuditService,
    private readonly codes: ActivationCodesService,
  ) {}

  today(now = new Date()): string {
    return this.clock.dayOf(now);
  }

  async forTab(patientId: number, now = new Date()): Promise<TabRepresentative[]> {
    const [rows, patient] = await Promise.all([this.reps.ofPatient(patientId), this.reps.patientFacts(patientId)]);
    const accounts = await this.accounts.byIds([...new Set(rows.map((row) => row.accountId))]);
    const today = this.today(now);
    return rows.map((row) => {
      const active = isActiveRepresentation(row, today);
      const account = accounts.get(row.accountId) ?? null;
      // A message key (staff.json representatives.blocked.*), written out on the tab in the staff language.
      const inviteBlocked = !active
        ? message('staff:representatives.blocked.notCurrent')
        : !patient?.accessEnabled
          ? message('staff:representatives.blocked.notEnabled')
          : patient.deceased
            ? message('staff:representatives.blocked.deceased')
            : null;
      return {
        ...row,
        active,
        upcoming: !row.endedAt && row.startsOn > today,
        endedReasonShown: row.endedReason ?? (row.endsOn && row.endsOn < today ? 'end_date' : null),
        // The same four colours and the one definition: red while they cannot act for the patient.
        status: portalStatus({
          accessEnabled: active && Boolean(patient?.accessEnabled),
          invitedAt: account?.invitedAt ?? null,
          firstLoginAt: account?.firstLoginAt ?? null,
        }),
        account,
        // The edit form's value: their own language, or empty (emails follow the patient's).
        language: account?.language ?? '',
        inviteKind: inviteKind({ username: account?.username ?? null }),
        inviteBlocked,
        locked: Boolean(account?.lockedUntil && account.lockedUntil > now),
      };
    });
  }

  async add(patientId: number, form: RepresentativeDto, context: AuditContext): Promise<number> {
    return runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const fields = await this.checkedFields(patientId, form, now, tx);
      const open = (await this.reps.ofPatient(patientId, tx)).filter(
        (row) => !row.endedAt && row.email.toLowerCase() === fields.emailKey,
      );
      if (open.length) throw new FormValidationException({ email: [message('staff:form.representativeEmailTaken')] });
      const accountId = await this.accounts.findOrCreate(fields.email, fields.fullName, now, tx);
      const id = await this.reps.insert(patientId, accountId, fields, staffIdOf(context), now, tx);
      // Left as it is when not chosen: the account may already be theirs for another patient, with its own.
      if (fields.language) await this.accounts.setLanguage(accountId, fields.language, now, tx);
      await this.audit.record(
        context,
        {
          action: 'representative.added',
          patientId,
          details: { representativeId: id, ...auditFields(fields), ...(fields.language ? { language: fields.language } : {}) },
        },
        tx,
      );
      return id;
    });
  }

  async update(
    patientId: number,
    id: number,
    form: RepresentativeDto & { version: number },
    context: AuditContext,
  ): Promise<boolean> {
    return runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const current = await this.lockCurrent(patientId, id, form.version, tx);
      const fields = await this.checkedFields(patientId, form, now, tx, current.startsOn);
      const changed: string[] = (Object.keys(auditFields(fields)) as Array<keyof ReturnType<typeof auditFields>>).filter(
        (key) => (current[key] ?? null) !== (fields[key] ?? null),
      );
      const language = (await this.accounts.byIds([current.accountId], tx)).get(current.accountId)?.language ?? null;
      if (language !== fields.language) changed.push('language');
      if (!changed.length) return false;
      let accountId = current.accountId;
      if (fields.emailKey !== emailKeyOf(current.email)) {
        // A new address is a different person's mailbox: the old account loses this patient at once.
        accountId = await this.accounts.findOrCreate(fields.email, fields.fullName, now, tx);
        await this.cutOff(current, 'email_changed', now, tx);
      }
      await this.reps.update(id, accountId, fields, now, tx);
      if (changed.includes('language')) await this.accounts.setLanguage(accountId, fields.language, now, tx);
      await this.audit.record(
        context,
        {
          action: 'representative.updated',
          patientId,
          details: { representativeId: id, changed, reason: fields.reason, ...auditFields(fields) },
        },
        tx,
      );
      // An end day moved into the past ends access now, like the daily sweep would.
      if (fields.endsOn && fields.endsOn < this.today(now))
        await this.endAccess([{ ...current, accountId }], 'end_date', context, now, tx);
      return true;
    });
  }

  async revoke(patientId: number, id: number, form: { version: number; reason: string }, context: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      const current = await this.lockCurrent(patientId, id, form.version, tx);
      await this.endAccess([current], 'revoked', context, new Date(), tx, form.reason);
    });
  }

  /** An invite to the representative's own account (a password reset once they chose a username). */
  async invite(patientId: number, id: number, context: AuditContext): Promise<'invite' | 'reset'> {
    return runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const rep = await this.lockReachable(patientId, id, 'noEmail', now, tx);
      const account = (await this.accounts.byIds([rep.accountId], tx)).get(rep.accountId)!;
      const purpose = inviteKind(account);
      await this.issueLink(tx, account, patientId, purpose, staffIdOf(context), now);
      await this.audit.record(
        context,
        { action: `representative.${purpose}_issued`, patientId, details: { representativeId: id, sentTo: account.email } },
        tx,
      );
      return purpose;
    });
  }

  /**
   * "Forgot password" on the portal sign-in page, for a representative's own account (the same
   * rules as a patient's, asked by PatientAccountsService inside its fixed-time answer): a reset
   * link to their own address, for a patient they may act for today (its identity check asks
   * that patient's birth date and their own last name), at most `perWindow` per window. Nothing
   * is sent when they may act for no one now. Audited on that patient.
   */
  async requestReset(accountId: number, perWindow: number, since: Date, context: AuditContext): Promise<void> {
    const now = new Date();
    const actor = { ...context, actorType: 'proxy' as const, actorId: accountId, actorLabel: null };
    const [patient] = await this.reps.activeForAccount(accountId, this.today(now));
    if (!patient) {
      await this.audit.record(actor, {
        action: 'representative.reset_requested',
        outcome: 'denied',
        details: { reason: 'no_current_patient' },
      });
      return;
    }
    await runInTransaction(this.dataSource, async (tx) => {
      if ((await this.tokenRows.countRepresentativeIssuedSince(accountId, 'reset', since, tx)) >= perWindow) {
        await this.audit.record(
          actor,
          {
            action: 'representative.reset_requested',
            outcome: 'denied',
            patientId: patient.patientId,
            details: { reason: 'throttled' },
          },
          tx,
        );
        return;
      }
      const account = (await this.accounts.byIds([accountId], tx)).get(accountId)!;
      await this.issueLink(tx, account, patient.patientId, 'reset', null, now);
      await this.audit.record(
        actor,
        {
          action: 'representative.reset_requested',
          patientId: patient.patientId,
          details: { representativeId: patient.representativeId, sentTo: account.email },
        },
        tx,
      );
    });
  }

  /**
   * "Activate on their phone" for a representative at the desk (issue #18): staff checked the
   * representative's photo ID; a 10-minute code for their own account, audited with who checked.
   */
  async issueInClinic(
    patientId: number,
    id: number,
    context: AuditContext,
  ): Promise<IssuedActivation & { representativeName: string }> {
    return runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const rep = await this.lockReachable(patientId, id, 'noCode', now, tx);
      const issued = await this.codes.issueInClinicForRepresentative(tx, patientId, rep.accountId, context, now);
      await this.accounts.markInvited(rep.accountId, now, tx);
      await this.audit.record(
        context,
        {
          action: 'portal.activation_code_shown',
          patientId,
          details: {
            photoIdCheckedBy: context.actorLabel,
            expiresAt: issued.expiresAt.toISOString(),
            representativeId: id,
            representativeAccountId: rep.accountId,
            fullName: rep.fullName,
          },
        },
        tx,
      );
      return { ...issued, representativeName: rep.fullName };
    });
  }

  /** The representative row, locked, when they may reach the patient now (current, access on, not deceased). */
  private async lockReachable(
    patientId: number,
    id: number,
    /** What did not happen, for the refusal (staff.json refusal.representative.<refused>.*). */
    refused: 'noEmail' | 'noCode',
    now: Date,
    tx: EntityManager,
  ): Promise<RepresentativeRow> {
    const rep = await this.reps.lock(patientId, id, tx);
    if (!rep) throw new NotFoundException(message('staff:refusal.noSuchRepresentative'));
    const patient = await this.reps.patientFacts(patientId, tx);
    if (!isActiveRepresentation(rep, this.today(now)))
      throw new ConflictException(message(`staff:refusal.representative.${refused}.notCurrent`));
    if (!patient?.accessEnabled) throw new ConflictException(message(`staff:refusal.representative.${refused}.notEnabled`));
    if (patient.deceased) throw new ConflictException(message(`staff:refusal.representative.${refused}.deceased`));
    return rep;
  }

  /** Staff unlock a representative's sign-in from the patient's tab (any patient they represent); audited. */
  async unlock(patientId: number, id: number, context: AuditContext): Promise<boolean> {
    return runInTransaction(this.dataSource, async (tx) => {
      const rep = await this.reps.lock(patientId, id, tx);
      if (!rep) throw new NotFoundException(message('staff:refusal.noSuchRepresentative'));
      if (!(await this.accounts.unlock(rep.accountId, new Date(), tx))) return false;
      await this.audit.record(
        context,
        {
          action: 'representative.account_unlocked',
          patientId,
          details: { representativeId: id, name: rep.fullName },
        },
        tx,
      );
      return true;
    });
  }

  /** A new link to the representative's own address (earlier ones superseded), its email in the outbox. */
  private async issueLink(
    tx: EntityManager,
    account: RepresentativeAccount,
    patientId: number,
    purpose: 'invite' | 'reset',
    staffId: number | null,
    now: Date,
  ): Promise<void> {
    // A new link supersedes the account's earlier ones, whichever patient they were sent for.
    await this.tokens.revokeRepresentativeLinks(tx, account.id, null, 'superseded', now);
    const raw = newRawToken();
    const hash = hashToken(raw);
    const hours = purpose === 'invite' ? this.config.inviteTtlHours : this.config.resetTtlHours;
    const ids = await this.tokenRows.insertMany(
      [
        {
          patientId,
          purpose,
          hash,
          sentTo: account.email,
          expiresAt: new Date(now.getTime() + hours * 3_600_000),
          representativeAccountId: account.id,
        },
      ],
      staffId,
      now,
      tx,
    );
    // In the representative's own language, else the patient's (the one the link is for), else the default.
    const language = await this.accounts.emailLanguageOf(account.id, patientId, tx);
    const email = this.renderer.render(purpose, firstNameOf(account.fullName), raw, language);
    await this.outbox.enqueue(
      [
        {
          batchId: null,
          patientId,
          portalTokenId: ids.get(hash),
          kind: REPRESENTATIVE_MAIL_KIND[purpose],
          to: account.email,
          subject: email.subject,
          text: email.text,
          html: email.html,
        },
      ],
      tx,
      now,
    );
    await this.accounts.markInvited(account.id, now, tx);
  }

  /**
   * The daily sweep (issue 16): representatives past their end day end, and parent-or-guardian
   * representatives recorded while the patient was a minor end once the patient reaches
   * AGE_OF_MAJORITY. One instance of several claims the clinic day; the ends themselves are
   * conditional (a row ends once), so a repeated or overlapping run changes nothing twice.
   */
  async sweep(now = new Date()): Promise<{ claimed: boolean; endDate: number; ageOfMajority: number }> {
    const today = this.today(now);
    if (!(await this.reps.claimDay('representatives', today, now))) return { claimed: false, endDate: 0, ageOfMajority: 0 };
    return runInTransaction(this.dataSource, async (tx) => {
      const expired = await this.endAccess(await this.reps.pastEndDay(today, tx), 'end_date', SYSTEM_CONTEXT, now, tx);
      const majority = this.config.ageOfMajority;
      const grownUp = (await this.reps.ofPatientsBornBy('parent_or_guardian', bornByForAge(majority, today), tx)).filter(
        // A guardian recorded for an adult (e.g. by a court) is not a minor's parent: only those from before majority end.
        (row) => ageOn(row.patientBorn, row.startsOn) < majority,
      );
      const aged = await this.endAccess(grownUp, 'age_of_majority', SYSTEM_CONTEXT, now, tx);
      return { claimed: true, endDate: expired.length, ageOfMajority: aged.length };
    });
  }

  /** The "Turned 18 — invite to their own account" worklist (the onboarding page filters the same patients with turned18=yes). */
  turnedAdultWorklist(limit = 100) {
    return this.reps.turnedAdult(limit);
  }

  /** The patient's access was disabled: every current representative of theirs ends with it (caller's transaction). */
  async endForDisabledPatients(
    patientIds: number[],
    context: AuditContext,
    tx: EntityManager,
    now = new Date(),
  ): Promise<number> {
    const open = await this.reps.openOf(patientIds, tx);
    return (await this.endAccess(open, 'access_disabled', context, now, tx)).length;
  }

  /**
   * Ends these representatives' access at once: the rows are ended (only once, whoever else
   * tries), their links for the patient revoked with unsent emails cancelled, and every session
   * of their accounts ended — a representative of several patients signs in again and keeps the others.
   */
  async endAccess(
    rows: RepresentativeRow[],
    reason: EndReason,
    context: AuditContext,
    now: Date,
    tx: EntityManager,
    staffReason?: string,
  ): Promise<RepresentativeRow[]> {
    const endedIds = new Set(
      await this.reps.end(
        rows.map((row) => row.id),
        reason,
        now,
        tx,
      ),
    );
    const ended = rows.filter((row) => endedIds.has(row.id));
    for (const row of ended) await this.cutOff(row, reason, now, tx);
    await this.audit.recordMany(
      context,
      ended.map((row) => ({
        action: reason === 'revoked' ? 'representative.revoked' : 'representative.ended',
        patientId: row.patientId,
        details: { representativeId: row.id, name: row.fullName, reason, ...(staffReason ? { staffReason } : {}) },
      })),
      tx,
    );
    return ended;
  }

  /** Links for this patient revoked (unsent emails cancelled), the account's sessions ended. */
  private async cutOff(row: RepresentativeRow, reason: string, now: Date, tx: EntityManager): Promise<void> {
    await this.tokens.revokeRepresentativeLinks(tx, row.accountId, row.patientId, reason, now);
    await this.accounts.endSessions([row.accountId], now, tx);
  }

  private async lockCurrent(patientId: number, id: number, version: number, tx: EntityManager): Promise<RepresentativeRow> {
    const current = await this.reps.lock(patientId, id, tx);
    if (!current) throw new NotFoundException(message('staff:refusal.noSuchRepresentative'));
    if (current.version !== version) throw new ConflictException(CONCURRENT_REPRESENTATIVE_CHANGE);
    if (current.endedAt) throw new ConflictException(message('staff:refusal.representativeEnded'));
    return current;
  }

  /** The form's fields after the rules that need the database: never the patient's own address, sane dates. */
  private async checkedFields(
    patientId: number,
    form: RepresentativeDto,
    now: Date,
    tx: EntityManager,
    keptStart?: string,
  ): Promise<RepresentativeFields & { language: string | null }> {
    const patient = await this.reps.patientFacts(patientId, tx);
    if (!patient) throw new NotFoundException(message('staff:refusal.noSuchPatient'));
    const errors: Record<string, string[]> = {};
    const emailKey = emailKeyOf(form.email);
    if (patient.email && emailKeyOf(patient.email) === emailKey) errors.email = [SAME_AS_PATIENT_EMAIL];
    const language = preferredLanguage(form.language, this.config.languages);
    if (language === undefined) errors.language = [LANGUAGE_MESSAGE(this.config.languages)];
    if (form.endsOn && form.endsOn < form.startsOn) errors.endsOn = [message('staff:form.endBeforeStart')];
    else if (form.endsOn && form.endsOn < this.today(now) && keptStart === undefined)
      errors.endsOn = [message('staff:form.endPassed')];
    if (Object.keys(errors).length) throw new FormValidationException(errors);
    return {
      fullName: form.fullName,
      relationship: form.relationship,
      email: form.email,
      emailKey,
      phone: form.phone ?? null,
      basis: form.basis,
      startsOn: form.startsOn,
      endsOn: form.endsOn ?? null,
      reason: form.reason,
      language: language ?? null,
    };
  }
}

const staffIdOf = (context: AuditContext) => (context.actorType === 'staff' ? context.actorId : null);

const firstNameOf = (fullName: string) => fullName.trim().split(/\s+/)[0] ?? fullName;

/** What the audit trail keeps of a representative record (and what an edit compares). */
const auditFields = (fields: RepresentativeFields) => ({
  fullName: fields.fullName,
  relationship: fields.relationship,
  email: fields.email,
  phone: fields.phone,
  basis: fields.basis,
  startsOn: fields.startsOn,
  endsOn: fields.endsOn,
});
