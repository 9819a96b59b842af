import { SYSTEM_CONTEXT } from '../audit/audit-context';
import { StaffUsersService } from '../auth/staff-users.service';
import { CliError, createCliContext, parseArgs, runCli } from './cli-context';

/**
 * npm run admin:create -- --email you@clinic.example --name "Your Name"
 * Creates an admin with a generated one-time password (printed once); there is no default account.
 */
runCli(async () => {
  const args = parseArgs(process.argv.slice(2));
  if (!args.email || !/^[^\s@]+@[^\s@]+$/.test(args.email) || args.email.length > 254) throw new CliError('--email is required and must be an email address');
  if (!args.name || args.name.trim().length === 0 || args.name.length > 100) throw new CliError('--name is required (1 to 100 characters)');
  const { context } = await createCliContext();
  const { user, temporaryPassword } = await context
    .get(StaffUsersService)
    .create({ email: args.email, name: args.name, role: 'admin' }, { ...SYSTEM_CONTEXT, actorLabel: 'cli:admin:create' });
  console.info(`Created admin ${user.email}.`);
  console.info(`One-time password (shown only now; you will choose your own at first sign-in): ${temporaryPassword}`);
  await context.close();
});
