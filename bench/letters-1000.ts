/**
 * Activation letters benchmark (issue #18): 1,000 letters issued in one transaction (tokens,
 * codes, audit rows) and streamed as one PDF to a byte-counting sink — nothing on disk, as the
 * app does for "Print activation letters". RSS and heap are sampled every 20 ms in this process.
 *
 *   npx ts-node --transpile-only bench/letters-1000.ts [--letters 1000] [--database mariadb://root@127.0.0.1:3306/bench_letters]
 */
import 'reflect-metadata';
import { Writable } from 'node:stream';
import { writeLettersPdf } from '../src/portal-access/activation-codes/activation-letter.pdf';
import { ActivationLettersService } from '../src/portal-access/activation-codes/activation-letters.service';
import { mb, withInProcessApp } from './in-process-app';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const letters = Number(arg('letters', '1000'));
const url = arg('database', 'mariadb://root@127.0.0.1:3306/bench_letters');

let peakRss = 0;
let peakHeap = 0;
const sample = setInterval(() => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed);
}, 20);

async function main(): Promise<void> {
  await withInProcessApp(url, 'letters', async ({ app, db, config }) => {
    const values = Array.from(
      { length: letters },
      (_, i) =>
        `('Letter${i}', 'Recipient', '1970-01-01', 1, NOW(), NOW(), '${i} Elm Street', 'Springfield', 'IL', '6${String(i).padStart(4, '0')}')`,
    );
    await db.query(
      `INSERT INTO patients (first_name, last_name, date_of_birth, version, created_at, updated_at, address_line1, address_city, address_region, address_postal_code) VALUES ${values.join(', ')}`,
    );
    await db.query(
      'INSERT INTO portal_accounts (patient_id, access_enabled, version, updated_at) SELECT id, 1, 1, NOW() FROM patients',
    );
    const ids = (await db.query('SELECT id FROM patients ORDER BY id')).map((row: { id: number }) => Number(row.id));
    const staff = { actorType: 'staff' as const, actorId: null, actorLabel: 'bench', ip: null, userAgent: null };
    const baseline = process.memoryUsage();
    peakRss = baseline.rss;
    peakHeap = baseline.heapUsed;
    const started = Date.now();
    const batch = await app.get(ActivationLettersService).print(ids, staff);
    const issuedMs = Date.now() - started;
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback();
      },
    });
    await writeLettersPdf(batch.letters, config.clinicName, sink);
    const totalMs = Date.now() - started;
    console.info(
      JSON.stringify(
        {
          letters: batch.letters.length,
          issueSeconds: issuedMs / 1000,
          totalSeconds: totalMs / 1000,
          pdfSize: mb(bytes),
          rssBefore: mb(baseline.rss),
          peakRss: mb(peakRss),
          rssGrowth: mb(peakRss - baseline.rss),
          peakHeap: mb(peakHeap),
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
