import { PasswordHasher } from '../../src/auth/passwords/password-hasher.service';
import { toSqlDateTime } from '../../src/database/sql';
import { ActivationFunnelRepository } from '../../src/patients/activation-funnel.repository';
import { usernameKey } from '../../src/portal-access/usernames';
import type { TestApp } from './test-app';

export interface TestPatientOptions {
  firstName?: string;
  lastName?: string;
  dateOfBirth?: string;
  email?: string | null;
  accessEnabled?: boolean;
  username?: string | null;
}

let sequence = 0;

/** The date of birth of a createPortalPatient patient unless told otherwise (the identity check asks it). */
export const DEFAULT_BIRTH_DATE = '1980-04-12';

/** A patient with a portal account (gray by default: access enabled, never invited), inserted directly. */
export async function createPortalPatient(
  t: TestApp,
  options: TestPatientOptions = {},
): Promise<{ id: number; email: string | null }> {
  const n = ++sequence;
  const now = toSqlDateTime(new Date());
  const email = options.email === undefined ? `patient${n}.${Date.now()}@example.test` : options.email;
  await t.dataSource.query(
    'INSERT INTO patients (first_name, last_name, date_of_birth, email, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)',
    [
      options.firstName ?? 'Robin',
      options.lastName ?? `Quartermaine${n}`,
      options.dateOfBirth ?? DEFAULT_BIRTH_DATE,
      email,
      now,
      now,
    ],
  );
  const [{ id }] = await t.dataSource.query('SELECT MAX(id) AS id FROM patients');
  const enabled = options.accessEnabled ?? true;
  await insertPortalAccount(t, Number(id), {
    accessEnabled: enabled,
    username: options.username ?? null,
    enabledAt: enabled ? now : null,
    updatedAt: now,
  });
  return { id: Number(id), email };
}

/**
 * The one way tests write a portal account row: the username key folded by the app's own
 * usernameKey (NFKC + case), so a test can never hold a key the app would not compute.
 */
export async function insertPortalAccount(
  t: TestApp,
  patientId: number,
  row: {
    accessEnabled: boolean;
    username: string | null;
    enabledAt: string | null;
    invitedAt?: string | null;
    firstLoginAt?: string | null;
    updatedAt: string;
  },
): Promise<void> {
  await t.dataSource.query(
    'INSERT INTO portal_accounts (patient_id, access_enabled, username, username_key, enabled_at, invited_at, first_login_at, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)',
    [
      patientId,
      row.accessEnabled ? 1 : 0,
      row.username,
      row.username ? usernameKey(row.username) : null,
      row.enabledAt,
      row.invitedAt ?? null,
      row.firstLoginAt ?? null,
      row.updatedAt,
    ],
  );
}

/**
 * Recomputes the activation funnel's summary from the tables, as the migration's backfill does. The app keeps
 * it as each change happens; rows a test writes by hand (raw SQL, like insertPortalAccount) bypass that, so a
 * test that reads the report after building its data by hand calls this first.
 */
export async function rebuildActivationFunnel(t: TestApp): Promise<void> {
  await new ActivationFunnelRepository().rebuild(t.dataSource);
}

/** The portal account row with its status inputs. */
export async function portalAccountOf(
  t: TestApp,
  patientId: number,
): Promise<{
  accessEnabled: boolean;
  invitedAt: Date | string | null;
  firstLoginAt: Date | string | null;
  lastLoginAt: Date | string | null;
  username: string | null;
}> {
  const [row] = await t.dataSource.query(
    'SELECT access_enabled, invited_at, first_login_at, last_login_at, username FROM portal_accounts WHERE patient_id = ?',
    [patientId],
  );
  return {
    accessEnabled: Number(row.access_enabled) === 1,
    invitedAt: row.invited_at,
    firstLoginAt: row.first_login_at,
    lastLoginAt: row.last_login_at,
    username: row.username,
  };
}

let activated = 0;

/** An activated patient (a unique username starting with `prefix`, this password, invited), orange until the first sign-in. */
export async function createActivatedPatient(
  t: TestApp,
  password: string,
  options: TestPatientOptions & { prefix?: string } = {},
): Promise<{ id: number; email: string | null; username: string }> {
  const username = `${options.prefix ?? 'pat'}${++activated}.${Date.now() % 100000}`;
  const patient = await createPortalPatient(t, { ...options, username });
  const hash = await t.app.get(PasswordHasher).hash(password);
  await t.dataSource.query('UPDATE portal_accounts SET password_hash = ?, invited_at = ? WHERE patient_id = ?', [
    hash,
    toSqlDateTime(new Date()),
    patient.id,
  ]);
  return { ...patient, username };
}
