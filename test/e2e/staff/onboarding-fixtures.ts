import { fromSqlDateTime, toSqlDateTime } from '../../../src/database/sql';
import { seedDemoData } from '../../../src/demo/demo-seeder';
import { portalStatus, type PortalStatus } from '../../../src/portal-access/portal-status';
import { insertPortalAccount } from '../../support/portal-patients';
import type { TestApp } from '../../support/test-app';

/** "Now" of the seeded demo data, so appointment filters give the same answer every run. */
export const SEED_NOW = new Date('2026-11-01T12:00:00Z');

/** A patient as the test sees it, read straight from the tables (independent of the page's SQL). */
export interface PatientModel {
  id: number;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  email: string | null;
  providerId: number | null;
  nextAppointmentAt: Date | null;
  tagIds: number[];
  accessEnabled: boolean;
  username: string | null;
  status: PortalStatus;
}

export async function seedPatients(t: TestApp, patients: number, seed = 42): Promise<void> {
  await seedDemoData(t.dataSource, { patients, seed, now: SEED_NOW });
}

export async function loadPatients(t: TestApp): Promise<PatientModel[]> {
  const rows: Record<string, unknown>[] = await t.dataSource.query(
    `SELECT p.id, p.first_name, p.last_name, p.date_of_birth, p.email, p.primary_provider_id, p.next_appointment_at,
            pa.access_enabled, pa.username, pa.invited_at, pa.first_login_at
       FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id`,
  );
  const tagsOf = new Map<number, number[]>();
  for (const tag of (await t.dataSource.query('SELECT patient_id, tag_id FROM patient_tags')) as {
    patient_id: number;
    tag_id: number;
  }[]) {
    tagsOf.set(Number(tag.patient_id), [...(tagsOf.get(Number(tag.patient_id)) ?? []), Number(tag.tag_id)]);
  }
  return rows.map((row) => {
    const accessEnabled = Number(row.access_enabled) === 1;
    const dob = row.date_of_birth instanceof Date ? row.date_of_birth.toISOString().slice(0, 10) : String(row.date_of_birth);
    return {
      id: Number(row.id),
      firstName: String(row.first_name),
      lastName: String(row.last_name),
      dateOfBirth: dob,
      email: (row.email as string | null) ?? null,
      providerId: row.primary_provider_id === null ? null : Number(row.primary_provider_id),
      nextAppointmentAt: fromSqlDateTime(row.next_appointment_at as string | Date | null),
      tagIds: tagsOf.get(Number(row.id)) ?? [],
      accessEnabled,
      username: (row.username as string | null) ?? null,
      status: portalStatus({
        accessEnabled,
        invitedAt: row.invited_at as string | null,
        firstLoginAt: row.first_login_at as string | null,
      }),
    };
  });
}

let extra = 0;

/** One hand-made patient with its portal account in a given state. */
export async function addPatient(
  t: TestApp,
  patient: {
    firstName?: string;
    lastName?: string;
    email?: string | null;
    status?: PortalStatus;
    username?: string | null;
    providerId?: number | null;
    dateOfBirth?: string;
  },
): Promise<number> {
  const now = toSqlDateTime(new Date());
  const email = patient.email === undefined ? `extra${++extra}@example.test` : patient.email;
  await t.dataSource.query(
    'INSERT INTO patients (first_name, last_name, date_of_birth, email, primary_provider_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)',
    [
      patient.firstName ?? 'Test',
      patient.lastName ?? 'Patient',
      patient.dateOfBirth ?? '1980-05-06',
      email,
      patient.providerId ?? null,
      now,
      now,
    ],
  );
  const [{ id }] = await t.dataSource.query('SELECT MAX(id) AS id FROM patients');
  const status = patient.status ?? 'red';
  const enabled = status === 'red' ? 0 : 1;
  const invited = status === 'orange' || status === 'green' ? now : null;
  const loggedIn = status === 'green' ? now : null;
  const username = patient.username ?? (status === 'green' ? `user${id}` : null);
  await insertPortalAccount(t, Number(id), {
    accessEnabled: enabled === 1,
    username,
    enabledAt: enabled ? now : null,
    invitedAt: invited,
    firstLoginAt: loggedIn,
    updatedAt: now,
  });
  return Number(id);
}

/** Ids of the rows in an HTML page or fragment, in table order. */
export function rowIds(html: string): number[] {
  return [...html.matchAll(/<tr id="patient-(\d+)"/g)].map((m) => Number(m[1]));
}

export function totalOf(html: string): number {
  const match = /<p class="result-count"[^>]*><strong>(\d+)<\/strong>/.exec(html);
  if (!match) throw new Error('no result count in the page');
  return Number(match[1]);
}

export function linkOf(html: string, rel: 'next' | 'prev'): string | null {
  const match = new RegExp(`<a rel="${rel}" href="([^"]+)"`).exec(html);
  return match ? match[1].replace(/&amp;/g, '&') : null;
}
