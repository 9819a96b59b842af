import { ActivationFunnelRepository } from '../patients/activation-funnel.repository';
import { DataSource, EntityManager } from 'typeorm';
import { runInTransaction } from '../database/transactions';
import { PatientImportRepository, type DemoPatient } from '../patients/patient-import.repository';
import { PortalAccountsRepository, type DemoPortalAccount } from '../portal-access/portal-accounts.repository';
import { MailOutboxRepository } from '../invitations/outbox.repository';
import { PortalTokensRepository, type DemoLink } from '../invitations/portal-tokens.repository';
import { demoAddress } from './demo-addresses';

export interface DemoSeedOptions {
  patients: number;
  /** Same seed → same patients. */
  seed: number;
  /** "Now" for appointment dates; fixed in tests so results are reproducible. */
  now?: Date;
}

export interface DemoSeedResult {
  patients: number;
  providers: number;
  tags: number;
  appointments: number;
}

const FIRST_NAMES = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Elizabeth',
  'William',
  'Barbara',
  'Richard',
  'Susan',
  'Joseph',
  'Jessica',
  'Thomas',
  'Sarah',
  'Charles',
  'Karen',
  'Christopher',
  'Lisa',
  'Daniel',
  'Nancy',
  'Matthew',
  'Betty',
  'Anthony',
  'Margaret',
  'Mark',
  'Sandra',
  'Donald',
  'Ashley',
  'Steven',
  'Kimberly',
  'Paul',
  'Emily',
  'Andrew',
  'Donna',
  'Joshua',
  'Michelle',
  'Kenneth',
  'Carol',
  'Kevin',
  'Amanda',
  'Brian',
  'Dorothy',
  'George',
  'Melissa',
  'Timothy',
  'Deborah',
  'Ronald',
  'Stephanie',
  'Jason',
  'Rebecca',
  'Edward',
  'Sharon',
  'Jeffrey',
  'Laura',
  'Ryan',
  'Cynthia',
  'Jacob',
  'Kathleen',
  'Gary',
  'Amy',
  'Nicholas',
  'Angela',
  'Eric',
  'Shirley',
  'Jonathan',
  'Anna',
  'Stephen',
  'Brenda',
  'Larry',
  'Pamela',
  'Justin',
  'Emma',
  'Scott',
  'Nicole',
  'Brandon',
  'Helen',
  'Benjamin',
  'Samantha',
  'Samuel',
  'Katherine',
  'José',
  'Zoë',
  'Renée',
  'Siobhán',
  'Nguyễn',
  'Aiyana',
  'Mei',
  'Olumide',
  'Priya',
  'Søren',
  'François',
  'Chloé',
];
const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Perez',
  'Thompson',
  'White',
  'Harris',
  'Sanchez',
  'Clark',
  'Ramirez',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Torres',
  'Nguyen',
  'Hill',
  'Flores',
  'Green',
  'Adams',
  'Nelson',
  'Baker',
  'Hall',
  'Rivera',
  'Campbell',
  'Mitchell',
  'Carter',
  'Roberts',
  "O'Brien",
  'Smith-Jones',
  'van der Berg',
  'McDonald',
  'Müller',
  'Nakamura',
  'Okafor',
  'Kowalski',
  'Petrov',
  'Ødegaard',
  'Haddad',
  'Chen',
  'Patel',
  'Kim',
  'Singh',
  'Cohen',
  'Murphy',
  'Rossi',
  'Dubois',
];
const PROVIDERS = [
  'Dr. Alice Morgan',
  'Dr. Benjamin Ortiz',
  'Dr. Carla Nguyen',
  'Dr. Daniel Brooks',
  'Dr. Elena Petrova',
  'Dr. Farid Haddad',
  'Dr. Grace Kim',
  'Dr. Henry Walsh',
];
const TAGS = ['Diabetes', 'Hypertension', 'Pediatrics', 'Prenatal', 'Medicare', 'New patient', 'Telehealth', 'Spanish speaking'];
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];

/** mulberry32: small, fast, deterministic. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const asciiLocal = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');

/**
 * Synthetic patients with every portal status, tags, providers and appointments.
 * Batched multi-row inserts in one transaction: 100k patients take seconds, not minutes.
 */
export async function seedDemoData(db: DataSource, options: DemoSeedOptions): Promise<DemoSeedResult> {
  const rand = random(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  const now = options.now ?? new Date();
  // A bulk load through each table's owner, without Nest (the CLI and app.setup call this directly):
  // patients' tables through the patients module's batch writer, portal_accounts through portal-access's.
  const funnel = new ActivationFunnelRepository();
  const records = new PatientImportRepository(funnel);
  const portalAccounts = new PortalAccountsRepository(db, funnel);
  const links = new PortalTokensRepository(db, funnel);

  return runInTransaction(db, async (tx: EntityManager) => {
    const providerIds = await records.ensureNamed('providers', PROVIDERS, now, tx);
    const tagIds = await records.ensureNamed('tags', TAGS, now, tx);
    let nextId = (await records.maxPatientId(tx)) + 1;
    let appointmentCount = 0;

    const chunk = 2000;
    for (let done = 0; done < options.patients; done += chunk) {
      const patients: DemoPatient[] = [];
      const accounts: DemoPortalAccount[] = [];
      const patientTags: Array<{ patientId: number; tagId: number }> = [];
      const appointments: Array<{ patientId: number; providerId: number | null; startsAt: Date }> = [];
      for (let i = 0; i < Math.min(chunk, options.patients - done); i++) {
        const id = nextId++;
        const first = pick(FIRST_NAMES);
        const last = pick(LAST_NAMES);
        const dob = new Date(Date.UTC(1930, 0, 1) + Math.floor(rand() * 92 * 365.25) * DAY).toISOString().slice(0, 10);
        // About one patient in eight has no email on file.
        const email = rand() < 0.12 ? null : `${asciiLocal(first)}.${asciiLocal(last)}${id}@${pick(EMAIL_DOMAINS)}`;
        const phone = rand() < 0.8 ? `555-${String(Math.floor(rand() * 9000) + 1000)}` : null;
        const providerId = rand() < 0.95 ? pick(providerIds) : null;

        let nextAppointment: Date | null = null;
        const past = Math.floor(rand() * 3);
        const future = Math.floor(rand() * 3) === 0 ? 0 : Math.floor(rand() * 2) + 1;
        for (let a = 0; a < past + future; a++) {
          const offsetDays = a < past ? -Math.ceil(rand() * 400) : Math.ceil(rand() * 120);
          const hour = 8 + Math.floor(rand() * 9);
          const startsAt = new Date(
            Math.floor(now.getTime() / DAY) * DAY + offsetDays * DAY + hour * 3_600_000 + (rand() < 0.5 ? 1_800_000 : 0),
          );
          if (a >= past && (!nextAppointment || startsAt < nextAppointment)) nextAppointment = startsAt;
          appointments.push({ patientId: id, providerId: rand() < 0.8 ? providerId : pick(providerIds), startsAt });
        }
        appointmentCount += past + future;

        patients.push({
          id,
          externalId: `DEMO-${String(id).padStart(6, '0')}`,
          firstName: first,
          lastName: last,
          dateOfBirth: dob,
          email,
          phone,
          primaryProviderId: providerId,
          nextAppointmentAt: nextAppointment,
          address: demoAddress(options.seed, id),
        });

        const tagCount = Math.floor(rand() * 4);
        const chosen = new Set<number>();
        for (let t = 0; t < tagCount; t++) chosen.add(pick(tagIds));
        for (const tagId of chosen) patientTags.push({ patientId: id, tagId });

        accounts.push(portalAccountRow(id, first, last, email !== null, rand, now));
      }
      await records.insertDemo(patients, now, tx);
      await portalAccounts.insertDemo(accounts, now, tx);
      await insertDemoInvites(links, patients, accounts, tx);
      await records.addTags(patientTags, tx);
      await records.insertAppointments(appointments, now, tx);
    }
    // The invites above were written past the summary's writers: the activation report reads it, so rebuild it.
    await funnel.rebuild(tx);
    return { patients: options.patients, providers: providerIds.length, tags: tagIds.length, appointments: appointmentCount };
  });
}

/**
 * Each invited demo patient's emailed invite, so the link states, the worklist and the activation report agree with
 * the list: its email delivered a minute after the invite; opened by three in four of the invited and by every active patient;
 * used when the active patient set up the account (just before their first sign-in).
 */
async function insertDemoInvites(
  links: PortalTokensRepository,
  patients: DemoPatient[],
  accounts: DemoPortalAccount[],
  tx: EntityManager,
): Promise<void> {
  const emails = new Map(patients.map((patient) => [patient.id, patient.email]));
  const invites: DemoLink[] = accounts.flatMap((account) => {
    const to = emails.get(account.patientId);
    if (!account.invitedAt || !to) return [];
    const sent = account.invitedAt;
    const usedAt = account.firstLoginAt && new Date(account.firstLoginAt.getTime() - 10 * 60_000);
    const opened = usedAt
      ? new Date(Math.min(usedAt.getTime(), sent.getTime() + DAY))
      : account.patientId % 4
        ? new Date(sent.getTime() + 3 * 3_600_000)
        : null;
    return [
      {
        patientId: account.patientId,
        sentTo: to,
        createdAt: sent,
        expiresAt: new Date(sent.getTime() + 7 * DAY),
        openedAt: opened,
        usedAt,
      },
    ];
  });
  if (invites.length === 0) return;
  const ids = await links.insertDemoLinks(invites, tx);
  await MailOutboxRepository.insertDemoSent(
    invites.map((invite) => ({
      patientId: invite.patientId,
      portalTokenId: ids.get(invite.patientId)!,
      to: invite.sentTo,
      sentAt: new Date(invite.createdAt.getTime() + 60_000),
    })),
    tx,
  );
}

/** Red for most; gray, orange and green for the rest (never invited without an email). */
function portalAccountRow(
  id: number,
  first: string,
  last: string,
  hasEmail: boolean,
  rand: () => number,
  now: Date,
): DemoPortalAccount {
  const roll = rand();
  const status = roll < 0.55 || (!hasEmail && roll >= 0.7) ? 'red' : roll < 0.7 ? 'gray' : roll < 0.85 ? 'orange' : 'green';
  const daysAgo = (max: number) => new Date(now.getTime() - Math.ceil(rand() * max) * DAY);
  const none = { username: null, enabledAt: null, invitedAt: null, firstLoginAt: null, lastLoginAt: null };
  if (status === 'red') return { patientId: id, accessEnabled: false, ...none };
  const enabledAt = daysAgo(300);
  if (status === 'gray') return { patientId: id, accessEnabled: true, ...none, enabledAt };
  const invitedAt = daysAgo(30);
  if (status === 'orange') return { patientId: id, accessEnabled: true, ...none, enabledAt, invitedAt };
  const username = `${asciiLocal(first).slice(0, 20)}.${asciiLocal(last).slice(0, 20)}${id}`;
  const lastLoginAt = daysAgo(20);
  // Set up and first signed in within days of the invite (never before it, never after now).
  const firstLoginAt = new Date(Math.min(now.getTime(), invitedAt.getTime() + 2 * 3_600_000 + (id % 9) * 8 * 3_600_000));
  return {
    patientId: id,
    accessEnabled: true,
    username,
    enabledAt,
    invitedAt,
    firstLoginAt,
    lastLoginAt: lastLoginAt > firstLoginAt ? lastLoginAt : firstLoginAt,
  };
}
