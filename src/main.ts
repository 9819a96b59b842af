import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { createApplication } from './app.setup';
import { ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  // Files we create (SQLite database, .eml files, secrets) hold patient data: owner-only.
  process.umask(0o077);
  const config = loadConfig();
  const app = await createApplication(config);
  app.enableShutdownHooks();
  await app.listen(config.port);
  console.info(`Patient Portal Onboarding listening on ${config.publicBaseUrl} (database: ${config.database.kind})`);
  const [{ staff }] = await app.get(DataSource).query('SELECT COUNT(*) AS staff FROM staff_users');
  if (Number(staff) === 0) {
    console.info('No staff account yet. Create the first admin with: npm run admin:create -- --email you@clinic.example --name "Your Name"');
  }
}

main().catch((error: unknown) => {
  // One clear line, no stack trace: the operator needs the variable to fix, not our internals.
  const message = error instanceof ConfigError ? error.message : `Startup failed: ${(error as Error)?.message ?? String(error)}`;
  console.error(message);
  process.exit(1);
});
