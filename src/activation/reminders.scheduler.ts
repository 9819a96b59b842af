import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { RemindersService } from './reminders.service';

/**
 * Runs a reminder pass every REMINDER_INTERVAL_SECONDS inside each app instance. Nothing is kept
 * in memory between passes (claims and policy are in the database), so a restart loses nothing and
 * several instances may run it at once; REMINDER_INTERVAL_SECONDS=0 leaves it to cron.
 */
@Injectable()
export class RemindersScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reminders');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly reminders: RemindersService,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.reminderIntervalSeconds;
    if (seconds === 0) return;
    this.timer = setInterval(() => this.tick(), seconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.reminders
      .runOnce()
      .catch((error: unknown) => this.logger.error(`Reminder pass failed: ${(error as Error)?.message ?? String(error)}`))
      .finally(() => (this.running = null));
  }
}
