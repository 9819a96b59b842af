import type { DatabaseSchema } from './database/data-source-options';
import { AuditEvent } from './audit/entities/audit-event.entity';
import { StaffUser } from './auth/entities/staff-user.entity';
import { BulkBatch } from './invitations/entities/bulk-batch.entity';
import { MailOutbox } from './invitations/entities/mail-outbox.entity';
import { PortalToken } from './invitations/entities/portal-token.entity';
import { Appointment } from './patients/entities/appointment.entity';
import { Patient } from './patients/entities/patient.entity';
import { Provider } from './patients/entities/provider.entity';
import { Tag } from './patients/entities/tag.entity';
import { PortalAccount } from './portal-access/entities/portal-account.entity';
import { Setting } from './auth/mfa/entities/setting.entity';
import { StaffPasskey } from './auth/mfa/entities/staff-passkey.entity';
import { StaffRecoveryCode } from './auth/mfa/entities/staff-recovery-code.entity';
import { StaffTotp } from './auth/mfa/entities/staff-totp.entity';
import { InitialSchema1764144000000 } from '../migrations/1764144000000-InitialSchema';
import { StaffSecondFactor1764400000000 } from '../migrations/1764400000000-StaffSecondFactor';
import { ImportRuns1764600000000 } from '../migrations/1764600000000-ImportRuns';
import { ThrottleCounters1764700000000 } from '../migrations/1764700000000-ThrottleCounters';
import { PatientPhoneDigits1765000000000 } from '../migrations/1765000000000-PatientPhoneDigits';
import { ImportIdentity1765300000000 } from '../migrations/1765300000000-ImportIdentity';
import { EmailChangeRequests1765200000000 } from '../migrations/1765200000000-EmailChangeRequests';
import { BulkBatchUnsentPatients1766000000000 } from '../migrations/1766000000000-BulkBatchUnsentPatients';
import { PortalSessions1766300000000 } from '../migrations/1766300000000-PortalSessions';
import { PortalSecondFactor1766300000001 } from '../migrations/1766300000001-PortalSecondFactor';
import { PortalPasskeys1767600000000 } from '../migrations/1767600000000-PortalPasskeys';
import { RepresentativeSessions1768000000000 } from '../migrations/1768000000000-RepresentativeSessions';
import { RepresentativeSecondFactor1768300000000 } from '../migrations/1768300000000-RepresentativeSecondFactor';
import { OnboardingListGeneration1766600000000 } from '../migrations/1766600000000-OnboardingListGeneration';
import { ActivationFollowThrough1766400000000 } from '../migrations/1766400000000-ActivationFollowThrough';
import { PatientPreferredLanguage1766500000000 } from '../migrations/1766500000000-PatientPreferredLanguage';
import { IdentityCheck1766200000000 } from '../migrations/1766200000000-IdentityCheck';
import { PatientAddress1766210000000 } from '../migrations/1766210000000-PatientAddress';
import { ActivationCodes1766220000000 } from '../migrations/1766220000000-ActivationCodes';
import { Representatives1766100000000 } from '../migrations/1766100000000-Representatives';
import { ActivationReportIndexes1768100000000 } from '../migrations/1768100000000-ActivationReportIndexes';
import { ActivationFunnelSummary1768400000000 } from '../migrations/1768400000000-ActivationFunnelSummary';
import { SqlitePatientEmailKeyIndex1768500000000 } from '../migrations/1768500000000-SqlitePatientEmailKeyIndex';

/**
 * The app's schema, composed here (not in database/, which knows no feature): every entity and
 * every migration, in order. Class references, not globs, so ts-node, ts-jest and dist/ all load the same list.
 */
export const ENTITIES = [
  StaffUser,
  Provider,
  Tag,
  Patient,
  Appointment,
  PortalAccount,
  PortalToken,
  BulkBatch,
  MailOutbox,
  AuditEvent,
  StaffTotp,
  StaffRecoveryCode,
  StaffPasskey,
  Setting,
];

export const MIGRATIONS = [
  InitialSchema1764144000000,
  StaffSecondFactor1764400000000,
  ImportRuns1764600000000,
  ThrottleCounters1764700000000,
  PatientPhoneDigits1765000000000,
  EmailChangeRequests1765200000000,
  ImportIdentity1765300000000,
  BulkBatchUnsentPatients1766000000000,
  PortalSessions1766300000000,
  PortalSecondFactor1766300000001,
  OnboardingListGeneration1766600000000,
  ActivationFollowThrough1766400000000,
  PatientPreferredLanguage1766500000000,
  IdentityCheck1766200000000,
  PatientAddress1766210000000,
  ActivationCodes1766220000000,
  Representatives1766100000000,
  PortalPasskeys1767600000000,
  RepresentativeSessions1768000000000,
  ActivationReportIndexes1768100000000,
  RepresentativeSecondFactor1768300000000,
  ActivationFunnelSummary1768400000000,
  SqlitePatientEmailKeyIndex1768500000000,
];

/** What buildDataSourceOptions and openDatabase take: the app passes this, the data layer imports no feature. */
export const APP_SCHEMA: DatabaseSchema = { entities: ENTITIES, migrations: MIGRATIONS };
