import { Logger } from '@nestjs/common';
import { DataSource, MigrationExecutor } from 'typeorm';
import { isSqliteManager } from './sql';

/**
 * Causal reads on a Galera cluster: a node applies other nodes' writes a moment after they
 * commit, so a read on node B right after a write on node A (a session saved at sign-in,
 * then the next request through another instance) could miss it. wsrep_sync_wait = 1 makes
 * each read wait until the node has applied everything committed before it started.
 */
export const CAUSAL_READS_SQL = 'SET SESSION wsrep_sync_wait = 1';
const WSREP_ON_SQL = "SHOW VARIABLES LIKE 'wsrep_on'";

interface RawConnection {
  query(sql: string, callback: (error: Error | null, rows?: unknown) => void): unknown;
}
interface RawPool {
  on(event: 'connection', listener: (connection: RawConnection) => void): void;
  _allConnections?: { toArray(): RawConnection[] };
}

const logger = new Logger('Database');

function setCausalReads(connection: RawConnection, done: (error: Error | null) => void = () => undefined): void {
  connection.query(CAUSAL_READS_SQL, (error) => {
    if (error) logger.error(`Could not turn on causal reads: ${error.message}`);
    done(error);
  });
}

/** Turns on causal reads for every TypeORM connection when the server is a Galera node; true if it is. */
export async function enableCausalReads(dataSource: DataSource): Promise<boolean> {
  if (isSqliteManager(dataSource)) return false;
  const [row]: Array<{ Value?: string }> = await dataSource.query(WSREP_ON_SQL);
  if (row?.Value !== 'ON') return false;
  const pool = (dataSource.driver as unknown as { pool: RawPool }).pool;
  // Queued on a new connection before anything the app sends on it.
  pool.on('connection', (connection) => setCausalReads(connection));
  for (const connection of pool._allConnections?.toArray() ?? []) setCausalReads(connection);
  return true;
}

/** knex's afterCreate for the session store's MySQL/MariaDB pool: the same causal reads on Galera. */
export function causalReadsAfterCreate(
  connection: RawConnection,
  done: (error: Error | null, connection: unknown) => void,
): void {
  connection.query(WSREP_ON_SQL, (error, rows) => {
    if (error) return done(error, connection);
    const on = (rows as Array<{ Value?: string }>)[0]?.Value === 'ON';
    if (!on) return done(null, connection);
    setCausalReads(connection, (setError) => done(setError, connection));
  });
}

/** Names of migrations the code has and the database has not run. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const pending = await new MigrationExecutor(dataSource).getPendingMigrations();
  return pending.map((migration) => migration.name);
}
