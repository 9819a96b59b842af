/**
 * The app with its outbox sender, in a process of its own, so a test can kill it
 * (SIGKILL: no shutdown hooks, claims left behind). Environment comes from the parent.
 * Run with: fork(this file, { execArgv: ['-r', 'ts-node/register/transpile-only'] }).
 */
import 'reflect-metadata';
import { createApplication } from '../../src/app.setup';
import { loadConfig } from '../../src/config/app-config';

createApplication(loadConfig(process.env), { logger: ['error'] })
  .then((app) => app.init())
  .then(() => process.send?.('ready'))
  .catch((error: unknown) => {
    process.stderr.write(`sender process failed: ${String(error)}\n`);
    process.exit(1);
  });
