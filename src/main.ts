import 'reflect-metadata';
import cluster from 'node:cluster';
import type { Logger as Pino } from 'pino';
import { createApplication } from './app.setup';
import { ConfigError, loadConfig } from './config/app-config';
import { APP_LOGGER, AppLogger } from './observability/logging';
import { closeGracefullyOnSignals } from './operations/graceful-shutdown';
import { announceRunningServer, describeDatabase } from './operations/running-servers';
import { isSecondaryWorker, runWorkers } from './operations/web-concurrency';
import { SetupTokenService } from './setup/setup-token.service';

async function main(): Promise<void> {
  // Files we create (SQLite database, .eml files, secrets, backups) hold patient data: owner-only.
  process.umask(0o077);
  const config = loadConfig();
  if (cluster.isPrimary && config.webConcurrency > 1) {
    runWorkers(config.webConcurrency, (message) => console.error(message));
    return;
  }
  const app = await createApplication(config);
  await app.listen(config.port);
  const port = (app.getHttpServer().address() as { port: number }).port;
  const forget = isSecondaryWorker() ? () => undefined : announceRunningServer(config, port);
  closeGracefullyOnSignals(app, app.get(AppLogger), config.shutdownTimeoutMs, forget);

  const logger = app.get<Pino>(APP_LOGGER);
  logger.info(`Patient Portal Onboarding listening on ${config.publicBaseUrl} (${describeDatabase(config.database)})`);
  const setupUrl = isSecondaryWorker() ? null : await app.get(SetupTokenService).issueLinkIfNeeded();
  // The one secret the server prints on purpose (as Jupyter does): only here, never in a page.
  if (setupUrl) logger.info({ setupUrl }, 'No staff account yet. Create the first admin (link valid 24 h, once):');
  // A parent process (tests, process managers) may wait for this.
  process.send?.('ready');
}

main().catch((error: unknown) => {
  // One clear line, no stack trace: the operator needs the variable to fix, not our internals.
  const message = error instanceof ConfigError ? error.message : `Startup failed: ${(error as Error)?.message ?? String(error)}`;
  console.error(message);
  process.exit(1);
});
