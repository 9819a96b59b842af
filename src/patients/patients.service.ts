import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { birthDateProblem, type BirthDateProblem, EARLIEST_BIRTH_DATE } from '../common/time/calendar-date';
import { FormValidationException } from '../common/validation/form-validation.exception';
import type { PatientDetailsDto } from './dto/patient-details.dto';
import { Appointment } from './entities/appointment.entity';
import { Patient } from './entities/patient.entity';
import { Provider } from './entities/provider.entity';
import { Tag } from './entities/tag.entity';
import { normalisePhone, phoneDigits } from './phone-number';
import { PatientsRepository, type PatientMatch } from './patients.repository';
import { LANGUAGE_MESSAGE, preferredLanguage } from './preferred-language';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import {
  addressPartProblem,
  cleanAddressPart,
  envelopeLines,
  postalAddressOf,
  POSTAL_ADDRESS_PARTS,
  type PostalAddress,
  type PostalAddressKey,
} from './postal-address';
import { runInTransaction } from '../database/transactions';
import { message } from '../i18n/messages';

export const CONCURRENT_EDIT_MESSAGE = message('staff:refusal.patientChanged');

/** The Edit details form as it opens: exactly what is on file, so saving it untouched changes nothing. */
export interface DetailsFormValues extends Record<PostalAddressKey, string> {
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  phone: string;
  preferredLanguage: string;
  primaryProviderId: string;
  tagIds: string[];
  version: number;
}

export type { PatientMatch } from './patients.repository';

export interface PatientSummary {
  patient: Patient;
  detailsForm: DetailsFormValues;
  upcoming: Appointment[];
  providers: Provider[];
  tags: Tag[];
  /** The address parts in order, for the details form and its display. */
  addressParts: typeof POSTAL_ADDRESS_PARTS;
  /** The address as an envelope shows it (empty: none on file). */
  addressLines: string[];
}

/** Patients' own details: reading the dashboard and editing name, birth date, phone, tags and provider. */
@Injectable()
export class PatientsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly patients: PatientsRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async summary(id: number): Promise<PatientSummary> {
    const patient = await this.patients.findWithDetails(id);
    if (!patient) throw new NotFoundException(message('staff:refusal.noSuchPatient'));
    const [upcoming, providers, tags] = await Promise.all([
      this.patients.upcomingAppointments(id, new Date(), 5),
      this.patients.providers(),
      this.patients.tags(),
    ]);
    patient.tags?.sort((a, b) => a.name.localeCompare(b.name));
    return {
      patient,
      detailsForm: detailsFormValues(patient),
      upcoming,
      providers,
      tags,
      addressParts: POSTAL_ADDRESS_PARTS,
      addressLines: envelopeLines(postalAddressOf(patient)),
    };
  }

  /**
   * Saves the details if nobody changed the patient since the form was loaded
   * (optimistic locking on `version`); otherwise nothing is written and the editor is told.
   */
  async updateDetails(id: number, details: PatientDetailsDto, context: AuditContext): Promise<{ changed: boolean }> {
    assertRealDate(details.dateOfBirth);
    return runInTransaction(this.dataSource, async (tx) => {
      const before = await this.patients.findForEdit(id, tx);
      if (!before) throw new NotFoundException(message('staff:refusal.noSuchPatient'));
      if (before.version !== details.version) throw new ConflictException(CONCURRENT_EDIT_MESSAGE);
      await this.assertKnown(tx, details);
      const phone = phoneToSave(before.phone, details.phone);
      const language = this.languageToSave(before.preferredLanguage, details.preferredLanguage);
      const address = addressToSave(before, details);
      const changed = changedFields(before, details, phone, address);
      if (language !== before.preferredLanguage) changed.push('preferredLanguage');
      // A form saved as it was opened writes nothing: no new version, no audit row.
      if (!changed.length) return { changed: false };
      const saved = await this.patients.updateDetails(
        id,
        details.version,
        {
          firstName: details.firstName,
          lastName: details.lastName,
          dateOfBirth: details.dateOfBirth,
          phone,
          phoneDigits: phoneDigits(phone),
          preferredLanguage: language,
          ...address,
          primaryProviderId: details.primaryProviderId ?? null,
        },
        tx,
      );
      if (!saved) throw new ConflictException(CONCURRENT_EDIT_MESSAGE);
      if (changed.includes('tags')) await this.patients.replaceTags(id, details.tagIds, tx);
      await this.audit.record(context, { action: 'patient.details_changed', patientId: id, details: { changed } }, tx);
      return { changed: true };
    });
  }

  /** Unchanged when the form sent none (older forms, other callers); refused when the portal does not offer it. */
  private languageToSave(onFile: string | null, typed: string | undefined): string | null {
    if (typed === undefined) return onFile;
    const language = preferredLanguage(typed, this.config.languages);
    if (language === undefined)
      throw new FormValidationException({ preferredLanguage: [LANGUAGE_MESSAGE(this.config.languages)] });
    return language;
  }

  /**
   * Patients matching what an admin typed in the audit filter: the MRN (external id) exactly,
   * or a name — "Last, First", "First Last", or the start of either name. At most `limit`.
   */
  findByNameOrMrn(text: string, limit = 20): Promise<PatientMatch[]> {
    return this.patients.findByNameOrMrn(text, limit);
  }

  private async assertKnown(tx: EntityManager, details: PatientDetailsDto): Promise<void> {
    if (details.primaryProviderId && !(await this.patients.providerExists(details.primaryProviderId, tx))) {
      throw new FormValidationException({ primaryProviderId: [message('staff:form.provider')] });
    }
    const tagIds = [...new Set(details.tagIds)];
    if (tagIds.length && (await this.patients.countTags(tagIds, tx)) !== tagIds.length)
      throw new FormValidationException({ tagIds: [message('staff:form.tags')] });
  }

  /** Reading a patient's record is itself audited (HIPAA access log). */
  async recordView(id: number, tab: string, context: AuditContext): Promise<void> {
    await this.audit.record(context, { action: 'patient.viewed', patientId: id, details: { tab } });
  }

  /** Recomputes the denormalised next appointment (call in the transaction that changed appointments). */
  refreshNextAppointment(tx: EntityManager, patientIds: number[], now = new Date()): Promise<void> {
    return this.patients.refreshNextAppointment(tx, patientIds, now);
  }
}

export function detailsFormValues(patient: Patient): DetailsFormValues {
  return {
    firstName: patient.firstName,
    lastName: patient.lastName,
    dateOfBirth: patient.dateOfBirth,
    phone: patient.phone ?? '',
    preferredLanguage: patient.preferredLanguage ?? '',
    ...(Object.fromEntries(POSTAL_ADDRESS_PARTS.map(({ key }) => [key, patient[key] ?? ''])) as Record<PostalAddressKey, string>),
    primaryProviderId: patient.primaryProviderId ? String(patient.primaryProviderId) : '',
    tagIds: (patient.tags ?? []).map((tag) => String(tag.id)),
    version: patient.version,
  };
}

/** A re-rendered form shows what was typed; one ticked box arrives as a string, several as an array. */
export function typedDetailsValues(body: Record<string, unknown>): Record<string, unknown> {
  const tagIds = body.tagIds === undefined ? [] : Array.isArray(body.tagIds) ? body.tagIds.map(String) : [String(body.tagIds)];
  return { ...body, tagIds };
}

const BIRTH_DATE_MESSAGES: Record<BirthDateProblem, string> = {
  not_a_date: message('staff:form.noSuchDate'),
  future: message('staff:form.birthInFuture'),
  too_early: message('staff:form.birthTooEarly', { year: EARLIEST_BIRTH_DATE.slice(0, 4) }),
};

function assertRealDate(date: string): void {
  const problem = birthDateProblem(date);
  if (problem) throw new FormValidationException({ dateOfBirth: [BIRTH_DATE_MESSAGES[problem]] });
}

/**
 * The number to store: unchanged when the form sent back what is on file (even a number an
 * import stored in a format the form would refuse), else the normalised new one.
 */
function phoneToSave(onFile: string | null, typed: string | undefined): string | null {
  if (typed === undefined || typed.trim() === (onFile ?? '').trim()) return onFile;
  return normalisePhone(typed);
}

/**
 * The address to store, part by part: unchanged where the form sent back what is on file (even
 * spacing an import kept), else the cleaned new value; a bad part refuses the whole form.
 */
function addressToSave(onFile: Patient, typed: PatientDetailsDto): PostalAddress {
  const errors: Record<string, string[]> = {};
  const address = {} as PostalAddress;
  for (const { key } of POSTAL_ADDRESS_PARTS) {
    const value = typed[key];
    if (value === undefined || value === (onFile[key] ?? '')) {
      address[key] = onFile[key] ?? null;
      continue;
    }
    address[key] = cleanAddressPart(value);
    const problem = addressPartProblem(key, address[key]);
    if (problem) errors[key] = [problem];
  }
  if (Object.keys(errors).length) throw new FormValidationException(errors);
  return address;
}

function changedFields(before: Patient, after: PatientDetailsDto, phone: string | null, address: PostalAddress): string[] {
  const changed: string[] = [];
  if (before.firstName !== after.firstName) changed.push('firstName');
  if (before.lastName !== after.lastName) changed.push('lastName');
  if (before.dateOfBirth !== after.dateOfBirth) changed.push('dateOfBirth');
  if ((before.phone ?? null) !== phone) changed.push('phone');
  for (const { key } of POSTAL_ADDRESS_PARTS) if ((before[key] ?? null) !== address[key]) changed.push(key);
  if ((before.primaryProviderId ?? null) !== (after.primaryProviderId ?? null)) changed.push('primaryProvider');
  const tagsBefore = (before.tags ?? [])
    .map((tag) => tag.id)
    .sort((a, b) => a - b)
    .join(',');
  if (tagsBefore !== [...new Set(after.tagIds)].sort((a, b) => a - b).join(',')) changed.push('tags');
  return changed;
}
