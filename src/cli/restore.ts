import { loadConfig } from '../config/app-config';
import { BackupError, restoreSqlite } from '../operations/sqlite-backup';
import { CliError, runCli } from './cli-context';

/** npm run restore -- FILE — replaces the embedded database with a checked backup; the app must be stopped. */
runCli(async () => {
  process.umask(0o077);
  const [file, ...rest] = process.argv.slice(2);
  if (!file || rest.length) throw new CliError('Usage: npm run restore -- FILE (a backup written by npm run backup)');
  const config = loadConfig();
  try {
    const { replaced, check } = restoreSqlite(config, file);
    console.info(
      `Restored ${file} into ${config.database.kind === 'sqlite' ? config.database.file : ''} (${check.patients} patients).`,
    );
    if (replaced.length) console.info(`The previous database was kept as ${replaced[0]}.`);
    if (check.pendingMigrations.length)
      console.info(`${check.pendingMigrations.length} newer migration(s) will run at the next start.`);
  } catch (error) {
    throw error instanceof BackupError ? new CliError(error.message) : error;
  }
});
