import { userInfo } from 'node:os';
import { basename, resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { ImportService } from '../imports/import.service';
import { CliError, createCliContext, parseArgs, runCli } from './cli-context';
import { translateMessage } from '../i18n/messages';
import { SOURCE_LANGUAGE } from '../i18n/translations';

/**
 * npm run import -- FILE [--dry-run] [--skip-invalid]
 * The same pipeline as the admin page, for scripted nightly syncs. Exit code 0 when the file
 * was applied (or the dry run found no bad rows), 1 when nothing was applied.
 */
runCli(async () => {
  const argv = process.argv.slice(2);
  const files = argv.filter((arg) => !arg.startsWith('--'));
  const args = parseArgs(argv.filter((arg) => arg.startsWith('--')).map((arg) => (arg.includes('=') ? arg : `${arg}=true`)));
  const unknown = Object.keys(args).filter((name) => !['dry-run', 'skip-invalid'].includes(name));
  if (files.length !== 1 || unknown.length) throw new CliError('Usage: npm run import -- FILE [--dry-run] [--skip-invalid]');
  const path = resolve(files[0]);
  if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`No such file: ${path}`);

  const { context } = await createCliContext();
  const started = Date.now();
  const run = await context
    .get(ImportService)
    .importFile(
      path,
      basename(path),
      { dryRun: args['dry-run'] === 'true', skipInvalid: args['skip-invalid'] === 'true' },
      { actorType: 'import', actorId: null, actorLabel: `cli:import (${userInfo().username})`, ip: null, userAgent: null },
    );
  const { counts } = run;
  const line = (label: string, t: { new: number; changed: number; unchanged: number }) =>
    console.info(`  ${label.padEnd(13)} ${t.new} new, ${t.changed} changed, ${t.unchanged} unchanged`);
  console.info(
    `${run.fileName} (${run.format ?? 'unknown format'}): ${run.status.replace('_', ' ')} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${counts.rows} rows read, ${counts.rejected} rejected.`,
  );
  line('Patients', counts.patients);
  line('Providers', counts.providers);
  line('Appointments', counts.appointments);
  if (counts.emailChanges)
    console.info(`  ${counts.emailChanges} email changes waiting for approval (Admin → Email changes; old addresses told)`);
  if (counts.deceased)
    console.info(
      `  ${counts.deceased} patients recorded as deceased (access off, links revoked, waiting emails cancelled, sessions ended)`,
    );
  // The run's message, its rows' places and problems are keys (staff.json imports.*): the console reads English.
  const english = (text: string) => translateMessage(SOURCE_LANGUAGE, text);
  for (const [reason, n] of Object.entries(counts.ignored)) console.info(`  not imported: ${n} × ${english(reason)}`);
  for (const warning of run.warnings) console.info(`  ${english(warning.where)}: warning: ${english(warning.reason)}`);
  const said = run.message ? english(run.message) : null;
  if (said) console.info(`  ${said}`);
  for (const problem of run.problems)
    console.info(
      `  ${english(problem.where)}${problem.externalId ? ` (${problem.externalId})` : ''}: ${english(problem.reason)}`,
    );
  if (run.problemsOmitted) console.info(`  …and ${run.problemsOmitted} more`);
  await context.close();
  if (run.status === 'rejected' || run.status === 'failed') throw new CliError(said ?? 'Nothing was imported.');
  if (run.status === 'dry_run' && counts.rejected > 0)
    throw new CliError('Dry run: the file has bad rows (listed above); nothing was written.');
});
