import { Injectable } from '@nestjs/common';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { StaffUsersRepository } from '../../auth/staff-users.repository';
import { FormValidationException } from '../../common/validation/form-validation.exception';
import { ageOn } from '../../common/time/calendar-date';
import { ClinicClock } from '../../common/time/clinic-time';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { canInvite, hasEmail, inviteBlock, minorStage, underSelfAccessText, type AgeRules } from '../portal-eligibility';
import { emailKeyOf } from '../representative-accounts.repository';
import { RepresentativesRepository } from './representatives.repository';
import { message, translateMessage } from '../../i18n/messages';
import { SOURCE_LANGUAGE } from '../../i18n/translations';

/** Who else reads a patient's mailbox (criterion 2 of the seeds): other patients, other patients' representatives, staff. */
export interface SharedEmail {
  patients: number;
  representatives: number;
  staff: number;
  /** "Email shared with 2 other patients" in English, as the audit trail records it. */
  text: string;
  /** The same words as a message key, which the row and the tab write out in the staff language. */
  message: string;
}

/** What the onboarding row and the tab show about who may reach the patient's portal (issue 16). */
export interface PortalReach {
  age: number;
  /** under_self_access: no own account (a guardian is invited instead); minor: own account and a guardian both allowed. */
  minorStage: 'under_self_access' | 'minor' | null;
  activeRepresentatives: number;
  sharedEmail: SharedEmail | null;
  /** Why the row offers no invite link because of these rules (set by withReach; a message key), or null. */
  note?: string | null;
  /** Which of these rules took the invite away (set by withReach with `note`). */
  block?: 'under_self_access_age' | 'shared_email' | null;
}

export interface ReachSubject {
  id: number;
  email: string | null;
  dateOfBirth: string;
}

/** Who else holds the address, as the key of its sentence (staff.json reach.sharedWith.<p|r|s…>) and its counts. */
function sharedWith(shared: Pick<SharedEmail, 'patients' | 'representatives' | 'staff'>) {
  const combo = `${shared.patients ? 'p' : ''}${shared.representatives ? 'r' : ''}${shared.staff ? 's' : ''}`;
  return { combo, patients: shared.patients, representatives: shared.representatives };
}

function describeShared(
  shared: Pick<SharedEmail, 'patients' | 'representatives' | 'staff'>,
): Pick<SharedEmail, 'text' | 'message'> {
  const { combo, ...counts } = sharedWith(shared);
  const key = message(`staff:reach.sharedWith.${combo}`, counts);
  return { text: translateMessage(SOURCE_LANGUAGE, key), message: key };
}

/**
 * The minors rule's ages, active representatives and shared addresses for a page of patients
 * (≤ 100 rows: three or four indexed queries), and the shared addresses of a bulk selection.
 */
@Injectable()
export class PortalReachService {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly clock: ClinicClock,
    private readonly reps: RepresentativesRepository,
    private readonly staff: StaffUsersRepository,
    private readonly audit: AuditService,
  ) {}

  /**
   * A single invite from the tab to an address someone else holds too goes out only after staff
   * ticked that this patient alone reads that mailbox (or that the others are their authorised
   * representatives), with a reason; the confirmation is audited. Nothing to confirm: nothing happens.
   */
  async confirmSharedInvite(
    patientId: number,
    form: { confirmShared?: 'yes'; sharedReason?: string },
    context: AuditContext,
  ): Promise<void> {
    const [patient] = await this.reps.emailsOf([patientId]);
    const shared = patient ? (await this.sharedEmails([patient])).get(patientId) : undefined;
    if (!shared) return;
    const errors: Record<string, string[]> = {};
    if (form.confirmShared !== 'yes') errors.confirmShared = [message('staff:form.confirmShared', sharedWith(shared))];
    if (!form.sharedReason || form.sharedReason.length < 3) errors.sharedReason = [message('staff:form.reason')];
    if (Object.keys(errors).length) throw new FormValidationException(errors);
    await this.audit.record(context, {
      action: 'portal.shared_email_confirmed',
      patientId,
      details: { reason: form.sharedReason, sharedWith: shared.text },
    });
  }

  get ages(): AgeRules {
    return { ageOfMajority: this.config.ageOfMajority, minorSelfAccessAge: this.config.minorSelfAccessAge };
  }

  async forPatients(patients: ReachSubject[], now = new Date()): Promise<Map<number, PortalReach>> {
    const today = this.clock.dayOf(now);
    const [counts, shared] = await Promise.all([
      this.reps.countActive(
        patients.map((patient) => patient.id),
        today,
      ),
      this.sharedEmails(patients),
    ]);
    const ages = this.ages;
    return new Map(
      patients.map((patient) => {
        const age = ageOn(patient.dateOfBirth, today);
        return [
          patient.id,
          {
            age,
            minorStage: minorStage(age, ages),
            activeRepresentatives: counts.get(patient.id) ?? 0,
            sharedEmail: shared.get(patient.id) ?? null,
          },
        ];
      }),
    );
  }

  /** Patients of `patients` whose address (trimmed, case-insensitive) someone else holds too. */
  async sharedEmails(patients: Array<Pick<ReachSubject, 'id' | 'email'>>): Promise<Map<number, SharedEmail>> {
    const withEmail = patients.filter((patient): patient is { id: number; email: string } => hasEmail(patient.email));
    const keys = [...new Set(withEmail.map((patient) => emailKeyOf(patient.email)))];
    const result = new Map<number, SharedEmail>();
    if (keys.length === 0) return result;
    const [holders, representatives, staff] = await Promise.all([
      this.reps.patientsWithEmailKeys(keys),
      this.reps.representativesWithEmailKeys(keys),
      this.staff.emailsAmong(keys),
    ]);
    const group = <T>(rows: T[], key: (row: T) => string) => {
      const map = new Map<string, T[]>();
      for (const row of rows) map.set(key(row), [...(map.get(key(row)) ?? []), row]);
      return map;
    };
    const patientsByKey = group(holders, (row) => row.key);
    const repsByKey = group(representatives, (row) => row.key);
    const staffKeys = new Set(staff.map((email) => emailKeyOf(email)));
    for (const patient of withEmail) {
      const key = emailKeyOf(patient.email);
      const counts = {
        patients: (patientsByKey.get(key) ?? []).filter((row) => row.id !== patient.id).length,
        // Another patient's representative: the patient's own representatives never share the patient's address (refused).
        representatives: (repsByKey.get(key) ?? []).filter((row) => row.patientId !== patient.id).length,
        staff: staffKeys.has(key) ? 1 : 0,
      };
      if (counts.patients || counts.representatives || counts.staff)
        result.set(patient.id, { ...counts, ...describeShared(counts) });
    }
    return result;
  }

  /** Of these patients, those whose address is shared (a bulk send skips them). */
  async sharedAmong(patientIds: number[]): Promise<Set<number>> {
    return new Set((await this.sharedEmails(await this.reps.emailsOf(patientIds))).keys());
  }
}

/**
 * An onboarding row with its reach (issue 16) and the invite link decided again with the minors
 * and shared-address rules (portal-eligibility.ts): the row says why instead of offering the link.
 */
export function withReach<T extends { id: number; deceased: boolean; status: string; email: string | null; canInvite: boolean }>(
  row: T,
  reach: PortalReach | undefined,
  ages: AgeRules,
): T & { reach: PortalReach | null } {
  if (!reach) return { ...row, reach: null };
  const fields = {
    deceased: row.deceased,
    accessEnabled: row.status !== 'red',
    email: row.email,
    age: reach.age,
    sharedEmail: Boolean(reach.sharedEmail),
  };
  const block = inviteBlock(fields, ages);
  const reachBlock = block === 'under_self_access_age' || block === 'shared_email' ? block : null;
  const note =
    reachBlock === 'under_self_access_age'
      ? underSelfAccessText(ages)
      : reachBlock === 'shared_email'
        ? message('staff:reach.sharedNote')
        : null;
  // The row's own rule (bounced address, issue 17) still holds: reach can only take an invite away.
  return { ...row, reach: { ...reach, note, block: reachBlock }, canInvite: row.canInvite && canInvite(fields, ages) };
}
