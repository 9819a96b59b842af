/**
 * The app in this process on a fresh MariaDB database and a temporary DATA_DIR, for the
 * benchmarks that call services directly (import, letters): created, handed to `body`,
 * then closed and dropped with its files whatever happens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { createApplication } from '../src/app.setup';
import { loadConfig, parseDatabaseUrl, type AppConfig } from '../src/config/app-config';

export interface InProcessApp {
  app: INestApplication;
  db: DataSource;
  config: AppConfig;
  /** The temporary DATA_DIR (also a place for the bench's own files). */
  dir: string;
}

export async function withInProcessApp<T>(url: string, name: string, body: (bench: InProcessApp) => Promise<T>): Promise<T> {
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
  const dir = mkdtempSync(join(tmpdir(), `${name}-bench-`));
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
    try {
      return await body({ app, db: app.get(DataSource), config, dir });
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS \`${server.database}\``);
    await admin.end();
  }
}

export const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;
