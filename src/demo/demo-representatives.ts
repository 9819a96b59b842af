import { ActivationFunnelRepository } from '../patients/activation-funnel.repository';
import type { DataSource } from 'typeorm';
import { runInTransaction } from '../database/transactions';
import { PatientImportRepository } from '../patients/patient-import.repository';
import { PortalAccountsRepository } from '../portal-access/portal-accounts.repository';
import { emailKeyOf, RepresentativeAccountsRepository } from '../portal-access/representative-accounts.repository';
import { RepresentativesRepository } from '../portal-access/representatives/representatives.repository';
import type { Relationship } from '../portal-access/representatives/representative-rules';

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
  const reps: Array<{ of: string; name: string; relationship: Relationship; email: string; since: number }> = [
    { of: 'child', name: 'Lucia Ferreira', relationship: 'parent_or_guardian', email: 'lucia.ferreira@example.test', since: 10 },
    { of: 'teen', name: 'Anil Raman', relationship: 'parent_or_guardian', email: 'anil.raman@example.test', since: 15 },
    { of: 'adult', name: 'Maureen Brennan', relationship: 'healthcare_poa', email: 'maureen.brennan@example.test', since: 2 },
  ];
  // Each table through its owner: patients (patients/), portal_accounts, representative_accounts and
  // patient_representatives (portal-access/).
  const funnel = new ActivationFunnelRepository();
  const patients = new PatientImportRepository(funnel);
  const portalAccounts = new PortalAccountsRepository(db, funnel);
  const accounts = new RepresentativeAccountsRepository(db);
  const representatives = new RepresentativesRepository(db);
  return runInTransaction(db, async (tx) => {
    const maxId = await patients.maxPatientId(tx);
    const ids = new Map(people.map((person, i) => [person.key, maxId + 1 + i]));
    const idOf = (key: string) => ids.get(key) as number;
    await patients.insertDemo(
      people.map((p) => ({
        id: idOf(p.key),
        externalId: `DEMO-R${idOf(p.key)}`,
        firstName: p.first,
        lastName: p.last,
        dateOfBirth: p.dob,
        email: p.email,
        phone: null,
        primaryProviderId: null,
        nextAppointmentAt: null,
        address: null,
      })),
      now,
      tx,
    );
    await portalAccounts.insertDemo(
      people.map((p) => ({
        patientId: idOf(p.key),
        accessEnabled: p.enabled,
        username: null,
        enabledAt: p.enabled ? now : null,
        invitedAt: null,
        firstLoginAt: null,
        lastLoginAt: null,
      })),
      now,
      tx,
    );
    for (const r of reps) {
      const accountId = await accounts.findOrCreate(r.email, r.name, now, tx);
      await representatives.insert(
        idOf(r.of),
        accountId,
        {
          fullName: r.name,
          relationship: r.relationship,
          email: r.email,
          emailKey: emailKeyOf(r.email),
          phone: null,
          basis: 'Demo: signed authorisation form, scanned to chart',
          startsOn: yearsAgo(now, r.since),
          endsOn: null,
          reason: 'Demo data',
        },
        null,
        now,
        tx,
      );
    }
    return { patients: people.length, representatives: reps.length };
  });
}
