import { loadConfig } from '../config/app-config';
import { backupSqlite, BackupError } from '../operations/sqlite-backup';
import { CliError, runCli } from './cli-context';

/** npm run backup — a consistent copy of the embedded SQLite database, safe while the app runs. */
runCli(async () => {
  process.umask(0o077);
  const config = loadConfig();
  try {
    const { file, check, removed } = await backupSqlite(config);
    console.info(`Backup written to ${file} (${check.patients} patients, ${check.migrations.length} migrations).`);
    if (removed.length)
      console.info(`Removed ${removed.length} older backup(s), keeping the newest ${config.backupKeep} (BACKUP_KEEP).`);
  } catch (error) {
    throw error instanceof BackupError ? new CliError(error.message) : error;
  }
});
