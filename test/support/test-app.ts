import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createApplication } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { createTestDatabase, TestDatabase } from './test-database';

export interface TestApp {
  app: NestExpressApplication;
  server: Server;
  config: AppConfig;
  dataSource: DataSource;
  database: TestDatabase;
  close(): Promise<void>;
}

/** Environment every test app starts from; tests override single variables. */
export function testEnv(database: TestDatabase, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATA_DIR: database.dataDir,
    MAIL_DIR: join(database.dataDir, 'mail'),
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
    MFA_ENCRYPTION_KEY: 'test-mfa-key-that-is-long-enough-0123456789abcdef',
    SEED_DEMO: 'false',
    MAIL_SENDER: 'false',
    SIGN_IN_ATTEMPTS_PER_MINUTE: '1000',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...overrides,
  };
}

/** The real app (same middleware as production) on a fresh database, listening on a free loopback port. */
export async function startTestApp(
  env: Record<string, string> = {},
  existing?: TestDatabase,
  options: { logStream?: DestinationStream } = {},
): Promise<TestApp> {
  const database = existing ?? (await createTestDatabase());
  const config = loadConfig(testEnv(database, env));
  // LOG_LEVEL (default error under NODE_ENV=test) decides; a test may capture the lines.
  const app = await createApplication(config, { logStream: options.logStream });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return {
    app,
    server,
    config,
    dataSource: app.get(DataSource),
    database,
    close: async () => {
      await app.close();
      if (!existing) await database.drop();
    },
  };
}
