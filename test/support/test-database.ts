import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { DatabaseConfig, parseDatabaseUrl } from '../../src/config/app-config';

export interface TestDatabase {
  /** DATABASE_URL for the app ('' = SQLite in dataDir). */
  url: string;
  config: DatabaseConfig;
  dataDir: string;
  drop(): Promise<void>;
}

/** Which server the suite runs against: TEST_DATABASE_URL (MariaDB/MySQL) or SQLite. */
export const testDatabaseKind = () => (process.env.TEST_DATABASE_URL ? 'mysql' : 'sqlite');

/**
 * A fresh, empty database for one test file: a temp SQLite file, or a new database
 * on the TEST_DATABASE_URL server (dropped afterwards).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ppo-test-'));
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    return {
      url: '',
      config: { kind: 'sqlite', file: join(dataDir, 'portal.sqlite') },
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const server = parseDatabaseUrl(serverUrl, 'TEST_DATABASE_URL');
  if (server.kind === 'sqlite') throw new Error('unreachable');
  const name = `ppo_test_${randomBytes(5).toString('hex')}`;
  const admin = await createConnection({
    host: server.host,
    port: server.port,
    user: server.username,
    password: server.password,
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    config: { ...server, database: name, display: url.toString() },
    dataDir,
    drop: async () => {
      const conn = await createConnection({
        host: server.host,
        port: server.port,
        user: server.username,
        password: server.password,
      });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
