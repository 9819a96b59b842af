import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { isMainThread } from 'node:worker_threads';
import { RepresentativesService } from './representatives.service';

/** How often an instance tries to claim the day's sweep; only the first try of a clinic day does the work. */
const SWEEP_EVERY_MS = 60 * 60 * 1000;

/** Runs the representatives' daily sweep on every app instance (the claim makes it once per day in all). */
@Injectable()
export class RepresentativesSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RepresentativesSweep');
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly representatives: RepresentativesService) {}

  onApplicationBootstrap(): void {
    // An import's worker thread boots this module too; the sweep belongs to the app instance.
    if (!isMainThread) return;
    void this.run();
    this.timer = setInterval(() => void this.run(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    try {
      const result = await this.representatives.sweep();
      if (result.claimed && (result.endDate || result.ageOfMajority))
        this.logger.log(
          `Representatives ended: ${result.endDate} past their end date, ${result.ageOfMajority} at the age of majority`,
        );
    } catch (error) {
      this.logger.error(`Representatives sweep failed: ${(error as Error).message}`);
    }
  }
}
