import { AuditEvent } from '../audit/entities/audit-event.entity';
import { StaffUser } from '../auth/entities/staff-user.entity';
import { BulkBatch } from '../invitations/entities/bulk-batch.entity';
import { MailOutbox } from '../invitations/entities/mail-outbox.entity';
import { PortalToken } from '../invitations/entities/portal-token.entity';
import { Appointment } from '../patients/entities/appointment.entity';
import { Patient } from '../patients/entities/patient.entity';
import { Provider } from '../patients/entities/provider.entity';
import { Tag } from '../patients/entities/tag.entity';
import { PortalAccount } from '../portal-access/entities/portal-account.entity';
import { InitialSchema1764144000000 } from '../../migrations/1764144000000-InitialSchema';

/** Class references, not globs, so ts-node, ts-jest and dist/ all load the same list. */
export const ENTITIES = [StaffUser, Provider, Tag, Patient, Appointment, PortalAccount, PortalToken, BulkBatch, MailOutbox, AuditEvent];

export const MIGRATIONS = [InitialSchema1764144000000];
