import { RemindersService } from '../activation/reminders.service';
import { createCliContext, runCli } from './cli-context';

/** npm run reminders:run — one reminder pass, for cron-style deployments (REMINDER_INTERVAL_SECONDS=0). */
runCli(async () => {
  const { context } = await createCliContext();
  try {
    const run = await context.get(RemindersService).runOnce();
    const said = {
      off: 'Reminders are off (turn them on at /admin/reminders); nothing sent.',
      outside_hours: 'Outside the allowed hours; nothing sent.',
      ran: `Reminders queued: ${run.sent}; already claimed by another instance: ${run.taken}; not allowed an email: ${run.blocked}.`,
    };
    console.info(said[run.outcome]);
  } finally {
    await context.close();
  }
});
