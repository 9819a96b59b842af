/**
 * Activation letters benchmark (issue #18): 1,000 letters issued in one transaction (tokens,
 * codes, audit rows) and streamed as one PDF to a byte-counting sink — nothing on disk, as the
 * app does for "Print activation letters". RSS and heap are sampled every 20 ms in this process.
 *
 *   npx ts-node --transpile-only bench/letters-1000.ts [--letters 1000] [--database mariadb://root@127.0.0.1:3306/bench_letters]
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createConnection } from 'mysql2/promise';
import { createApplication } from '../src/app.setup';
import { loadConfig, parseDatabaseUrl } from '../src/config/app-config';
import { writeLettersPdf } from '../src/portal-access/activation-codes/activation-letter.pdf';
import { ActivationLettersService } from '../src/portal-access/activation-codes/activation-letters.service';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const letters = Number(arg('letters', '1000'));
const url = arg('database', 'mariadb://root@127.0.0.1:3306/bench_letters');
const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;

let peakRss = 0;
let peakHeap = 0;
const sample = setInterval(() => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed);
}, 20);

async function main(): Promise<void> {
  const server = parseDatabaseUrl(url);
  if (server.kind === 'sqlite') throw new Error('MariaDB only');
  const admin = await createConnection({
    host: server.host,
    port: server.port,
    user: server.username,
    password: server.password,
  });
  await admin.query(`DROP DATABASE IF EXISTS \`${server.database}\``);
  await admin.query(`CREATE DATABASE \`${server.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const dir = mkdtempSync(join(tmpdir(), 'letters-bench-'));
  try {
    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'test',
      DATA_DIR: dir,
      DATABASE_URL: url,
      SEED_DEMO: 'false',
      MAIL_SENDER: 'false',
      SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
      MFA_ENCRYPTION_KEY: 'bench-mfa-key-0123456789abcdef0123456789',
    });
    const app = await createApplication(config, { logger: ['error'] });
    await app.init();
    const { DataSource } = await import('typeorm');
    const db = app.get(DataSource);
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
    await app.close();
  } finally {
    clearInterval(sample);
    rmSync(dir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS \`${server.database}\``);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
