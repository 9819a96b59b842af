import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AppConfig } from '../config/app-config';
import { MIGRATIONS } from '../app.schema';
import { databaseIdentity, runningServers } from './running-servers';

/** A refusal with the reason for the operator; nothing was changed. */
export class BackupError extends Error {}

export const MARIADB_HINT =
  'The database is MySQL/MariaDB: back it up with its own tools, e.g. `mariadb-dump --single-transaction --routines --triggers DB > portal.sql` or `mariabackup --backup --target-dir=…` (see README, Operations).';

const BACKUP_NAME = /^portal-\d{8}-\d{6}-\d{3}Z\.sqlite$/;

/** What a checked copy holds. */
export interface CopyCheck {
  migrations: string[];
  /** Migrations of this version the copy has not had yet (they run at the next start). */
  pendingMigrations: string[];
  patients: number;
}

function sqliteFile(config: AppConfig): string {
  if (config.database.kind !== 'sqlite') throw new BackupError(MARIADB_HINT);
  return config.database.file;
}

const stampOf = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-');

/**
 * A consistent copy of the embedded database while the app runs: SQLite's online backup
 * API, copied in one step (one read transaction, so a snapshot between two commits; in WAL
 * mode it does not block the app's writes). Written under a temporary name, checked, made
 * owner-only, then renamed; older copies beyond BACKUP_KEEP are deleted.
 */
export async function backupSqlite(
  config: AppConfig,
  now = new Date(),
): Promise<{ file: string; check: CopyCheck; removed: string[] }> {
  const source = sqliteFile(config);
  if (!existsSync(source)) throw new BackupError(`There is no database at ${source} yet (check DATA_DIR).`);
  mkdirSync(config.backupDir, { recursive: true, mode: 0o700 });
  const file = join(config.backupDir, `portal-${stampOf(now)}.sqlite`);
  const partial = `${file}.partial`;
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // A huge step: all pages in one go, so no concurrent commit can restart or tear the copy.
    await db.backup(partial, { progress: () => 1_000_000_000 });
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
  chmodSync(partial, 0o600);
  // The copy inherits WAL mode; a backup is one self-contained file (the app turns WAL back on when it opens a restored copy).
  const copy = new Database(partial, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  for (const part of ['-wal', '-shm']) rmSync(partial + part, { force: true });
  let check: CopyCheck;
  try {
    check = checkCopy(partial);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  renameSync(partial, file);
  return { file, check, removed: pruneBackups(config.backupDir, config.backupKeep) };
}

/** Keeps the newest `keep` backups (names sort by time). */
function pruneBackups(dir: string, keep: number): string[] {
  const backups = readdirSync(dir)
    .filter((name) => BACKUP_NAME.test(name))
    .sort();
  const removed = backups.slice(0, Math.max(0, backups.length - keep)).map((name) => join(dir, name));
  for (const file of removed) rmSync(file, { force: true });
  return removed;
}

/** Opens a copy read-only and checks it is a sound database of this app that this version can run. */
export function checkCopy(file: string): CopyCheck {
  if (!existsSync(file) || !statSync(file).isFile()) throw new BackupError(`No such file: ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new BackupError(`${basename(file)} is not an SQLite database (${(error as Error).message}).`);
  }
  try {
    let integrity: string[];
    try {
      integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check);
    } catch (error) {
      throw new BackupError(`${basename(file)} is not a readable SQLite database (${(error as Error).message}).`);
    }
    if (integrity.join() !== 'ok')
      throw new BackupError(`${basename(file)} failed SQLite's integrity check: ${integrity.slice(0, 3).join('; ')}`);
    const hasTable = (name: string) =>
      Boolean(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name));
    if (!hasTable('migrations') || !hasTable('patients'))
      throw new BackupError(`${basename(file)} is not a Patient Portal Onboarding database (no migrations or patients table).`);
    const migrations = (db.prepare('SELECT name FROM migrations ORDER BY timestamp').all() as Array<{ name: string }>).map(
      (row) => row.name,
    );
    const known = MIGRATIONS.map((migration) => migration.name);
    const unknown = migrations.filter((name) => !known.includes(name));
    if (unknown.length)
      throw new BackupError(
        `${basename(file)} was made by a newer version of the app (migrations ${unknown.join(', ')} are unknown here); restore it with that version.`,
      );
    const patients = Number((db.prepare('SELECT COUNT(*) AS n FROM patients').get() as { n: number }).n);
    return { migrations, pendingMigrations: known.filter((name) => !migrations.includes(name)), patients };
  } finally {
    db.close();
  }
}

/**
 * Replaces the embedded database with a checked copy. Refuses while a server runs on it
 * (its server.json / the machine's list of running servers) and when the copy fails its
 * checks; the replaced files are kept next to it as `portal.sqlite.before-restore-…`.
 */
export function restoreSqlite(config: AppConfig, copy: string, now = new Date()): { replaced: string[]; check: CopyCheck } {
  const target = sqliteFile(config);
  const running = runningServers(config.dataDir).filter((server) => server.database === databaseIdentity(config.database));
  if (running.length) {
    throw new BackupError(
      `The app is running on ${target} (pid ${running.map((server) => server.pid).join(', ')}): stop it first, then restore.`,
    );
  }
  const check = checkCopy(copy);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const incoming = `${target}.restoring`;
  copyFileSync(copy, incoming);
  chmodSync(incoming, 0o600);
  const replaced: string[] = [];
  const suffix = `.before-restore-${stampOf(now)}`;
  // The WAL may hold committed pages of the current database: it moves aside with it.
  for (const part of ['', '-wal', '-shm']) {
    if (existsSync(target + part)) {
      renameSync(target + part, target + suffix + part);
      replaced.push(target + suffix + part);
    }
  }
  renameSync(incoming, target);
  return { replaced, check };
}
