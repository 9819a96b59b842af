/**
 * npx ts-node --transpile-only bench/import-100k.ts [--rows 100000] [--database mariadb://root@127.0.0.1:3306/bench_import]
 * Writes a CSV of N patients (with tags, providers and a next appointment) to a temp file,
 * imports it on a fresh MariaDB database through ImportService (the same pipeline as the
 * page and the CLI), then imports it again (the no-op path). Reports wall time and peak RSS.
 */
import 'reflect-metadata';
import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { SYSTEM_CONTEXT } from '../src/audit/audit-context';
import { ImportService } from '../src/imports/import.service';
import { mb, withInProcessApp } from './in-process-app';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((arg, i, all) => (arg.startsWith('--') ? [arg.slice(2), all[i + 1]] : []))
    .filter((pair) => pair.length),
);
const rows = Number(args.rows ?? 100_000);
const url = args.database ?? 'mariadb://root@127.0.0.1:3306/bench_import';

let peakRss = 0;
const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function writeCsv(file: string): Promise<void> {
  const out = createWriteStream(file);
  const providers = ['Dr. Alice Morgan', 'Dr. Benjamin Ortiz', 'Dr. Carla Nguyen'];
  const first = ['José', 'Zoë', "D'Arcy", 'Siobhán', 'Mary "Molly"', 'Anne-Marie', 'Søren', 'Li'];
  const last = ["O'Brien", 'Smith-Jones', 'van der Berg, Jr.', 'Nguyễn', 'Müller', 'Okafor'];
  out.write('external_id,first_name,last_name,date_of_birth,email,phone,tags,primary_provider,next_appointment\n');
  for (let i = 1; i <= rows; i++) {
    const quote = (v: string) => (/[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const dob = `${1930 + (i % 90)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
    const email = i % 8 === 0 ? '' : `patient${i}@example.test`;
    const tags = ['', 'Diabetes', 'Hypertension;Medicare', 'New patient'][i % 4];
    const appointment =
      i % 3 === 0
        ? ''
        : `2031-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}T${String(8 + (i % 9)).padStart(2, '0')}:30:00Z`;
    const line = [
      `MRN-${i}`,
      quote(first[i % first.length]),
      quote(last[i % last.length]),
      dob,
      email,
      `555-${String(i % 10000).padStart(4, '0')}`,
      tags,
      providers[i % 3],
      appointment,
    ].join(',');
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function main(): Promise<void> {
  await withInProcessApp(url, 'import', async ({ app, db, dir }) => {
    const file = join(dir, `patients-${rows}.csv`);
    await writeCsv(file);
    await db.query(
      "INSERT INTO providers (name, active, created_at) VALUES ('Dr. Alice Morgan', 1, NOW()), ('Dr. Benjamin Ortiz', 1, NOW()), ('Dr. Carla Nguyen', 1, NOW())",
    );
    const imports = app.get(ImportService);
    const context = { ...SYSTEM_CONTEXT, actorType: 'import' as const, actorLabel: 'bench' };
    const baseline = process.memoryUsage().rss;
    peakRss = baseline;
    let started = Date.now();
    const first = await imports.importFile(file, 'patients.csv', { dryRun: false, skipInvalid: false }, context);
    const firstSeconds = (Date.now() - started) / 1000;
    const firstPeak = peakRss;
    started = Date.now();
    const again = await imports.importFile(file, 'patients.csv', { dryRun: false, skipInvalid: false }, context);
    const againSeconds = (Date.now() - started) / 1000;
    const [{ n }] = await db.query('SELECT COUNT(*) AS n FROM patients');
    console.info(
      JSON.stringify(
        {
          rows,
          fileSize: mb(statSync(file).size),
          firstImport: {
            status: first.status,
            seconds: firstSeconds,
            counts: first.counts.patients,
            appointments: first.counts.appointments,
          },
          reimport: { status: again.status, seconds: againSeconds, counts: again.counts.patients },
          patientsInDb: Number(n),
          rssBeforeImport: mb(baseline),
          peakRss: mb(Math.max(firstPeak, peakRss)),
        },
        null,
        2,
      ),
    );
  }).finally(() => clearInterval(sample));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
