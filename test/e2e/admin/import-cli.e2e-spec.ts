import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliScript } from '../../support/cli';
import { startTestApp, testEnv, TestApp } from '../../support/test-app';

/** ts-node compiles the app twice (the CLI, then its import worker): slow on a busy machine. */
const CLI_TIMEOUT_MS = 150_000;

/** `npm run import` goes through the same worker as the page, and waits for it. */
describe('npm run import', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it(
    'imports a file through the import worker, prints the counts and exits 0; a file with bad rows exits 1',
    async () => {
      const good = join(t.database.dataDir, 'nightly.csv');
      writeFileSync(
        good,
        'external_id,first_name,last_name,date_of_birth,email\nCLI-1,Cleo,Line,1981-04-05,cleo@example.test\nCLI-2,Cyril,Line,1982-05-06,\n',
      );
      const result = await runCliScript('import.ts', [good], testEnv(t.database), CLI_TIMEOUT_MS);
      // The whole output in the failure message: it says why (a run's message, or the worker's end).
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain('nightly.csv (csv): applied');
      expect(result.stdout).toContain('Patients      2 new, 0 changed, 0 unchanged');
      expect(
        (await t.dataSource.query("SELECT external_id FROM patients WHERE last_name = 'Line' ORDER BY external_id")).map(
          (row: { external_id: string }) => row.external_id,
        ),
      ).toEqual(['CLI-1', 'CLI-2']);
      // The CLI's own file is never deleted.
      const bad = join(t.database.dataDir, 'bad.csv');
      writeFileSync(bad, 'external_id,first_name,last_name,date_of_birth\nCLI-3,Bad,Date,1981-13-45\n');
      const refused = await runCliScript('import.ts', [bad, '--dry-run'], testEnv(t.database), CLI_TIMEOUT_MS);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('line 2');
      expect(refused.stderr).toContain('Dry run: the file has bad rows');
      const [{ n }] = await t.dataSource.query("SELECT COUNT(*) AS n FROM import_runs WHERE status = 'dry_run'");
      expect(Number(n)).toBe(1);
    },
    2 * CLI_TIMEOUT_MS,
  );
});
