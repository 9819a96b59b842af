import { SYSTEM_CONTEXT } from '../audit/audit-context';
import { StaffUsersService } from '../auth/staff-users.service';
import { loadConfig } from '../config/app-config';
import { databaseIdentity, describeDatabase, runningServers } from '../operations/running-servers';
import { CliError, createCliContext, parseArgs, runCli } from './cli-context';

/**
 * npm run admin:create -- --email you@clinic.example --name "Your Name" [--force]
 * Creates an admin with a generated one-time password (printed once); there is no default account.
 * For scripts: people starting a fresh install use the setup link the server prints.
 */
runCli(async () => {
  const args = parseArgs(process.argv.slice(2));
  if (!args.email || !/^[^\s@]+@[^\s@]+$/.test(args.email) || args.email.length > 254)
    throw new CliError('--email is required and must be an email address');
  if (!args.name || args.name.trim().length === 0 || args.name.length > 100)
    throw new CliError('--name is required (1 to 100 characters)');
  // Run without the server's DATA_DIR/DATABASE_URL, this would create the admin in a database nobody serves.
  const target = loadConfig().database;
  const servers = runningServers(loadConfig().dataDir);
  if (servers.length > 0 && !servers.some((server) => server.database === databaseIdentity(target)) && args.force !== 'true') {
    const list = servers.map((server) => `pid ${server.pid} on port ${server.port}: ${server.database}`).join('; ');
    throw new CliError(
      `Refusing: this would write to ${describeDatabase(target)}, but the running server uses another database (${list}). ` +
        'Run the command with the same DATA_DIR (or DATABASE_URL) as the server, or add --force to write here anyway.',
    );
  }
  const { context, config } = await createCliContext();
  const { user, temporaryPassword } = await context
    .get(StaffUsersService)
    .create({ email: args.email, name: args.name, role: 'admin' }, { ...SYSTEM_CONTEXT, actorLabel: 'cli:admin:create' });
  console.info(`Created admin ${user.email} in ${describeDatabase(config.database)}.`);
  if (servers.length === 0)
    console.info('No running server found on this machine; start it with the same DATA_DIR (or DATABASE_URL) to sign in.');
  console.info(`One-time password (shown only now; you will choose your own at first sign-in): ${temporaryPassword}`);
  await context.close();
});
