import { APP_SCHEMA } from '../app.schema';
import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { AppConfig, ConfigError, loadConfig } from '../config/app-config';
import { createSessionKnex } from '../database/data-source-options';
import { openDatabase } from '../database/open-database';

/** The app's providers without HTTP (and without the mail sender), for command-line tools. */
export async function createCliContext(): Promise<{ context: INestApplicationContext; config: AppConfig }> {
  // Files we create (SQLite database, .eml files, secrets) hold patient data: owner-only.
  process.umask(0o077);
  const config = { ...loadConfig(), mailSenderEnabled: false, seedDemo: false };
  const dataSource = await openDatabase(config, APP_SCHEMA);
  const context = await NestFactory.createApplicationContext(
    AppModule.forRoot(config, dataSource, createSessionKnex(config.database)),
    { logger: ['error'] },
  );
  return { context, config };
}

/** Runs a command, printing one line on failure and exiting non-zero. */
export function runCli(command: () => Promise<void>): void {
  command().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(
        error instanceof ConfigError || error instanceof CliError
          ? error.message
          : `Failed: ${(error as Error)?.message ?? String(error)}`,
      );
      process.exit(1);
    },
  );
}

export class CliError extends Error {}

/** `--name value` / `--name=value` arguments. */
export function parseArgs(argv: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!match) throw new CliError(`Unexpected argument "${argv[i]}"`);
    args[match[1]] = match[2] ?? (argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true');
  }
  return args;
}
