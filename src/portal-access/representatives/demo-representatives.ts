import type { DataSource } from 'typeorm';
import { insertRows, toSqlDateTime } from '../../database/sql';
import { runInTransaction } from '../../database/transactions';
import { emailKeyOf } from '../representative-accounts.repository';
import { maxPatientId, representativeIdsByEmailKey } from './demo-representatives.repository';

/** Days before `now`, as a calendar day. */
const yearsAgo = (now: Date, years: number, days = 0) =>
  new Date(Date.UTC(now.getUTCFullYear() - years, now.getUTCMonth(), now.getUTCDate() - days)).toISOString().slice(0, 10);

/**
 * Demo data for issue 16, added after the demo patients on a fresh database: a 10-year-old
 * with a guardian, a 15-year-old with their own access and a guardian, a family of three
 * sharing one address (bulk invites skip them), and an adult with a healthcare power of
 * attorney. Nobody here has a username or password: staff invite them from the tab.
 */
export async function seedDemoRepresentatives(
  db: DataSource,
  now = new Date(),
): Promise<{ patients: number; representatives: number }> {
  const nowSql = toSqlDateTime(now);
  const household = 'the.okonkwo.family@example.test';
  const people = [
    { key: 'child', first: 'Milo', last: 'Ferreira', dob: yearsAgo(now, 10, 40), email: null, enabled: true },
    { key: 'teen', first: 'Priya', last: 'Raman', dob: yearsAgo(now, 15, 100), email: 'priya.raman@example.test', enabled: true },
    {
      key: 'adult',
      first: 'Walter',
      last: 'Brennan',
      dob: yearsAgo(now, 82, 10),
      email: 'walter.brennan@example.test',
      enabled: true,
    },
    { key: 'f1', first: 'Chidi', last: 'Okonkwo', dob: yearsAgo(now, 44, 3), email: household, enabled: true },
    { key: 'f2', first: 'Ada', last: 'Okonkwo', dob: yearsAgo(now, 41, 200), email: household, enabled: true },
    { key: 'f3', first: 'Emeka', last: 'Okonkwo', dob: yearsAgo(now, 19, 50), email: household, enabled: true },
  ];
  const reps = [
    { of: 'child', name: 'Lucia Ferreira', relationship: 'parent_or_guardian', email: 'lucia.ferreira@example.test', since: 10 },
    { of: 'teen', name: 'Anil Raman', relationship: 'parent_or_guardian', email: 'anil.raman@example.test', since: 15 },
    { of: 'adult', name: 'Maureen Brennan', relationship: 'healthcare_poa', email: 'maureen.brennan@example.test', since: 2 },
  ];
  return runInTransaction(db, async (tx) => {
    const maxId = await maxPatientId(tx);
    const ids = new Map(people.map((person, i) => [person.key, maxId + 1 + i]));
    await insertRows(
      tx,
      'patients',
      ['id', 'external_id', 'first_name', 'last_name', 'date_of_birth', 'email', 'version', 'created_at', 'updated_at'],
      people.map((p) => [ids.get(p.key), `DEMO-R${ids.get(p.key)}`, p.first, p.last, p.dob, p.email, 1, nowSql, nowSql]),
    );
    await insertRows(
      tx,
      'portal_accounts',
      ['patient_id', 'access_enabled', 'enabled_at', 'version', 'updated_at'],
      people.map((p) => [ids.get(p.key), p.enabled ? 1 : 0, p.enabled ? nowSql : null, 1, nowSql]),
    );
    await insertRows(
      tx,
      'representative_accounts',
      ['email_key', 'email', 'full_name', 'failed_login_count', 'session_generation', 'created_at', 'updated_at'],
      reps.map((r) => [emailKeyOf(r.email), r.email, r.name, 0, 0, nowSql, nowSql]),
    );
    const accountOf = await representativeIdsByEmailKey(
      tx,
      reps.map((r) => emailKeyOf(r.email)),
    );
    await insertRows(
      tx,
      'patient_representatives',
      [
        'patient_id',
        'account_id',
        'full_name',
        'relationship',
        'email',
        'email_key',
        'basis',
        'starts_on',
        'reason',
        'created_at',
        'updated_at',
        'version',
      ],
      reps.map((r) => [
        ids.get(r.of),
        accountOf.get(emailKeyOf(r.email)),
        r.name,
        r.relationship,
        r.email,
        emailKeyOf(r.email),
        'Demo: signed authorisation form, scanned to chart',
        yearsAgo(now, r.since),
        'Demo data',
        nowSql,
        nowSql,
        1,
      ]),
    );
    return { patients: people.length, representatives: reps.length };
  });
}
