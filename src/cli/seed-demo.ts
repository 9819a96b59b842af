import { DataSource } from 'typeorm';
import { seedDemoData } from '../demo/demo-seeder';
import { CliError, createCliContext, parseArgs, runCli } from './cli-context';

/** npm run seed:demo -- --patients 100000 [--seed 42] */
runCli(async () => {
  const args = parseArgs(process.argv.slice(2));
  const patients = Number(args.patients ?? '300');
  const seed = Number(args.seed ?? '1');
  if (!Number.isInteger(patients) || patients < 1 || patients > 1_000_000)
    throw new CliError('--patients must be a whole number from 1 to 1,000,000');
  if (!Number.isInteger(seed)) throw new CliError('--seed must be a whole number');
  const { context } = await createCliContext();
  const started = Date.now();
  const result = await seedDemoData(context.get(DataSource), { patients, seed });
  console.info(
    `Seeded ${result.patients} patients, ${result.appointments} appointments (${result.providers} providers, ${result.tags} tags) in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
  await context.close();
});
