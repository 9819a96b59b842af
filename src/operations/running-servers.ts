import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AppConfig, DatabaseConfig } from '../config/app-config';

/** What a running server says about itself, so command-line tools can tell whether they act on its database. */
export interface RunningServer {
  pid: number;
  port: number;
  /** databaseIdentity() of the database it serves (no credentials). */
  database: string;
  dataDir: string;
  startedAt: string;
}

/** The file in DATA_DIR that marks a server running on it (restore refuses while it is there and alive). */
export const SERVER_FILE = 'server.json';

/**
 * A per-user folder listing the running servers of this machine, whatever their DATA_DIR:
 * `admin:create` run without the server's DATA_DIR finds the server here and sees the mismatch.
 */
const registryDir = () => join(tmpdir(), `patient-portal-onboarding-${process.getuid?.() ?? 'user'}`);

/** The same database gives the same string: the SQLite file's real path, or host:port/name for MySQL/MariaDB. */
export function databaseIdentity(database: DatabaseConfig): string {
  if (database.kind !== 'sqlite') return `${database.kind}://${database.host}:${database.port}/${database.database}`;
  let dir = dirname(database.file);
  try {
    dir = realpathSync(dir);
  } catch {
    // Not created yet: compare the path as given.
  }
  return `sqlite:${join(dir, database.file.slice(dirname(database.file).length + 1))}`;
}

/** Readable description of a database for operators: the file, or the URL without its password. */
export function describeDatabase(database: DatabaseConfig): string {
  return database.kind === 'sqlite' ? `SQLite file ${database.file}` : database.display;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readServer(file: string): RunningServer | null {
  try {
    const server = JSON.parse(readFileSync(file, 'utf8')) as RunningServer;
    return Number.isInteger(server.pid) && isAlive(server.pid) ? server : null;
  } catch {
    return null;
  }
}

/** Records this process as a running server (in DATA_DIR and the per-user registry); returns the cleanup. */
export function announceRunningServer(config: AppConfig, port: number): () => void {
  const server: RunningServer = {
    pid: process.pid,
    port,
    database: databaseIdentity(config.database),
    dataDir: config.dataDir,
    startedAt: new Date().toISOString(),
  };
  const files = [join(config.dataDir, SERVER_FILE), join(registryDir(), `${process.pid}.json`)];
  for (const file of files) {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, JSON.stringify(server) + '\n', { mode: 0o600 });
    } catch {
      // Only a convenience for the command-line tools; never a reason not to start.
    }
  }
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const file of files) if (readServer(file)?.pid === process.pid || !readServer(file)) rmSync(file, { force: true });
  };
  process.once('exit', remove);
  return remove;
}

/** Servers running on this machine (stale entries of dead processes are ignored and removed), plus the one in `dataDir`. */
export function runningServers(dataDir?: string): RunningServer[] {
  const found = new Map<number, RunningServer>();
  let names: string[];
  try {
    names = readdirSync(registryDir());
  } catch {
    names = [];
  }
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = join(registryDir(), name);
    const server = readServer(file);
    if (server) found.set(server.pid, server);
    else rmSync(file, { force: true });
  }
  if (dataDir) {
    const server = readServer(join(dataDir, SERVER_FILE));
    if (server) found.set(server.pid, server);
  }
  return [...found.values()];
}
