import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toSqlDateTime } from '../../../src/database/sql';
import {
  ImportService,
  INTERRUPTED_MESSAGE,
  rowCapMessage,
  STALE_RUN_MS,
  TOO_LARGE_MESSAGE,
} from '../../../src/imports/import.service';
import { uploadImport } from '../../support/imports';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { createTestDatabase } from '../../support/test-database';
import { translateMessage } from '../../../src/i18n/messages';

const fixture = (name: string) => join(__dirname, '../../fixtures/import', name);
const MAX_ROWS = 100;

/** Issue #13 (defect 4) and #14 (item 4): bad files get a clear answer, and no file can take the server down. */
describe('imports that must not fail on our side', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    t = await startTestApp({ IMPORT_MAX_ROWS: String(MAX_ROWS), IMPORT_MRN_SYSTEM: 'urn:oid:2.999.1' });
    admin = await signInAs(t, 'admin');
  });
  afterAll(async () => t.close());

  const upload = (file: string, fields: Record<string, string> = {}) => uploadImport(t, admin, file, fields);
  const patients = async () => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM patients'))[0].n);

  it('names the line and the problem of a row with a stray quote, like any other bad row', async () => {
    const { run, page } = await upload(fixture('stray-quote.csv'));
    expect(run!.status).toBe('rejected');
    expect(run!.problems).toEqual([
      {
        where: 'line 3',
        reason:
          'a double quote inside cell 2, which does not start with one: quote the whole cell and double the quote (""), or remove it',
      },
    ]);
    expect(page!.text).not.toContain('failed on our side');
    expect(page!.text).toContain('line 3');
    const valid = await upload(fixture('stray-quote.csv'), { skipInvalid: 'yes' });
    expect(valid.run!.status).toBe('applied');
    expect(valid.run!.counts.patients.new).toBe(2);
    expect(translateMessage('en', valid.run!.message!)).toBe(
      'The valid rows were imported; 1 row was rejected and skipped (listed below).',
    );
  });

  it('"import the valid rows" does not say "Imported" when every row was rejected and nothing was written', async () => {
    const before = await patients();
    const { run, page } = await upload(fixture('all-rejected.csv'), { skipInvalid: 'yes' });
    expect(run!.status).toBe('rejected');
    expect(translateMessage('en', run!.message!)).toBe(
      'Nothing was imported: every row of the file was rejected (listed below). Fix them and import the file again.',
    );
    expect(page!.text).not.toMatch(/<h2 class="import-status">Imported<\/h2>/);
    expect(page!.text).toContain('Nothing was imported: every row of the file was rejected');
    expect(await patients()).toBe(before);
  });

  it('refuses a file over IMPORT_MAX_ROWS with a clear message, writes nothing, and keeps serving', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `BIG-${i},First${i},Last${i},1980-01-01,big${i}@example.test`);
    const path = join(t.database.dataDir, 'huge.csv');
    writeFileSync(path, `external_id,first_name,last_name,date_of_birth,email\n${rows.join('\n')}\n`);
    const before = await patients();
    const { run, page } = await upload(path);
    expect(run!.status).toBe('failed');
    expect(run!.message).toBe(rowCapMessage(MAX_ROWS));
    expect(translateMessage('en', run!.message!)).toContain('more than 100 rows');
    expect(page!.text).toContain('IMPORT_MAX_ROWS');
    expect(await patients()).toBe(before);
    await admin.get('/admin/import').expect(200);
    // The upload (patient data) is deleted once the run ends.
    for (let i = 0; i < 50 && readdirSync(join(t.config.dataDir, 'imports')).length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readdirSync(join(t.config.dataDir, 'imports'))).toEqual([]);
  });

  it('with IMPORT_MRN_SYSTEM takes only the clinic system’s identifier as the external id', async () => {
    const path = join(t.database.dataDir, 'systems.json');
    writeFileSync(
      path,
      JSON.stringify({
        resourceType: 'Bundle',
        entry: [
          {
            resource: {
              resourceType: 'Patient',
              identifier: [
                { type: { coding: [{ code: 'MR' }] }, system: 'urn:oid:2.999.77', value: 'THEIRS-1' },
                { system: 'urn:oid:2.999.1', value: 'OURS-1' },
              ],
              name: [{ family: 'Ours', given: ['Olive'] }],
              birthDate: '1970-01-01',
            },
          },
          {
            resource: {
              resourceType: 'Patient',
              identifier: [{ type: { coding: [{ code: 'MR' }] }, system: 'urn:oid:2.999.77', value: 'THEIRS-2' }],
              name: [{ family: 'Theirs', given: ['Theo'] }],
              birthDate: '1970-01-01',
            },
          },
        ],
      }),
    );
    const { run } = await upload(path, { skipInvalid: 'yes' });
    expect(run!.counts.patients.new).toBe(1);
    expect(
      (await t.dataSource.query("SELECT external_id, external_id_system FROM patients WHERE last_name = 'Ours'"))[0],
    ).toEqual({ external_id: 'OURS-1', external_id_system: 'urn:oid:2.999.1' });
    expect(run!.problems).toEqual([
      { where: 'entry 2', reason: "no medical record number (no identifier of the clinic's MRN system urn:oid:2.999.1)" },
    ]);
  });
});

describe('a file that needs more memory than the import worker has', () => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it('fails that import with a clear message, deletes the upload, and the server keeps serving', async () => {
    // The row cap out of the way: only the worker's heap cap (IMPORT_WORKER_HEAP_MB) stops this file.
    // A test's thread compiles TypeScript and needs ~70 MB before any row (60 MB fails a one-row file on
    // MariaDB): 96 leaves room for the small files, and the big one needs about twice that.
    t = await startTestApp({ IMPORT_MAX_ROWS: '5000000', IMPORT_WORKER_HEAP_MB: '96' });
    const admin = await signInAs(t, 'admin');
    const small = async (n: number) => {
      const smallPath = join(t.database.dataDir, `small-${n}.csv`);
      writeFileSync(smallPath, `external_id,first_name,last_name,date_of_birth\nSMALL-${n},Sam,Small,1990-02-03\n`);
      const { run } = await uploadImport(t, admin, smallPath, {}, undefined, 120_000);
      expect(run).toMatchObject({ status: 'applied' });
      expect(run!.counts.patients.new).toBe(1);
    };
    // The thread fits in its cap (so it is the file below, not the start-up, that exhausts it).
    await small(1);
    const path = join(t.database.dataDir, 'too-big.csv');
    const rows = Array.from({ length: 500_000 }, (_, i) => `HEAP-${i},First${i},Last${i},1980-01-01,heap${i}@example.test`);
    writeFileSync(path, `external_id,first_name,last_name,date_of_birth,email\n${rows.join('\n')}\n`);
    // V8 collects hard before it gives up: the thread's end can take a while on a busy machine.
    const { run, page } = await uploadImport(t, admin, path, {}, undefined, 300_000);
    expect(run!.status).toBe('failed');
    expect(run!.message).toBe(TOO_LARGE_MESSAGE);
    expect(translateMessage('en', run!.message!)).toContain('too large to import in one go: split it');
    expect(page!.text).toContain('The file is too large to import in one go');
    expect(Number((await t.dataSource.query("SELECT COUNT(*) AS n FROM patients WHERE external_id LIKE 'HEAP-%'"))[0].n)).toBe(0);
    const [audit] = await t.dataSource.query("SELECT action, outcome FROM audit_events WHERE action = 'import.failed'");
    expect(audit).toMatchObject({ action: 'import.failed', outcome: 'failure' });
    // The server goes on: pages answer and the next file imports (in a fresh thread).
    await admin.get('/admin/import').expect(200);
    await small(2);
    for (let i = 0; i < 50 && readdirSync(join(t.config.dataDir, 'imports')).length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readdirSync(join(t.config.dataDir, 'imports'))).toEqual([]);
  }, 550_000);
});

describe('an import interrupted by a crash', () => {
  it('is marked failed at the next start, and its upload (patient data) is deleted', async () => {
    const database = await createTestDatabase();
    try {
      const first = await startTestApp({}, database);
      const dir = join(first.config.dataDir, 'imports');
      mkdirSync(dir, { recursive: true });
      const old = toSqlDateTime(new Date(Date.now() - 60 * 60_000));
      const insert = (id: string, heartbeat: string, file: string) =>
        first.dataSource.query(
          "INSERT INTO import_runs (id, file_name, format, mode, status, created_at, heartbeat_at, upload_file) VALUES (?, 'patients.csv', 'csv', 'apply', 'running', ?, ?, ?)",
          [id, heartbeat, heartbeat, file],
        );
      await insert('00000000-0000-4000-8000-00000000dead', old, 'crashed-upload');
      // Another instance's import, still beating: left alone.
      await insert('00000000-0000-4000-8000-0000000a11fe', toSqlDateTime(new Date()), 'live-upload');
      for (const name of ['crashed-upload', 'live-upload', 'orphan-old', 'orphan-new'])
        writeFileSync(join(dir, name), 'external_id,first_name\nX,Y\n');
      const hourAgo = new Date(Date.now() - 60 * 60_000);
      for (const name of ['crashed-upload', 'live-upload', 'orphan-old']) utimesSync(join(dir, name), hourAgo, hourAgo);
      await first.close();

      const second = await startTestApp({}, database);
      try {
        const runs = await second.dataSource.query('SELECT id, status, message, finished_at FROM import_runs ORDER BY id');
        expect(runs.map((run: { status: string }) => run.status)).toEqual(['failed', 'running']);
        expect(runs[0].message).toBe(INTERRUPTED_MESSAGE);
        expect(runs[0].finished_at).not.toBeNull();
        expect(['crashed-upload', 'live-upload', 'orphan-old', 'orphan-new'].map((name) => existsSync(join(dir, name)))).toEqual([
          false,
          true,
          false,
          true,
        ]);
        // The run whose heartbeat was still fresh at the restart is closed by a later sweep, once it stays silent.
        expect(await second.app.get(ImportService).closeInterruptedRuns(new Date(Date.now() + STALE_RUN_MS + 60_000))).toBe(1);
        expect(
          (await second.dataSource.query("SELECT status FROM import_runs WHERE id = '00000000-0000-4000-8000-0000000a11fe'"))[0]
            .status,
        ).toBe('failed');
        expect(existsSync(join(dir, 'live-upload'))).toBe(false);
        const admin = await signInAs(second, 'admin');
        const page = await admin.get('/admin/import/runs/00000000-0000-4000-8000-00000000dead').expect(200);
        expect(page.text).toContain('Import failed — nothing was changed');
        expect(page.text).toContain('The import was interrupted');
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
    }
  });
});
