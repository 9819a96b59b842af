import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottleCountersRepository } from './throttle-counters.repository';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * @nestjs/throttler's counters kept in the database (fixed windows), so several app
 * instances behind a load balancer share one limit per client IP.
 */
@Injectable()
export class DatabaseThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly counters: ThrottleCountersRepository) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    const windowStart = Math.floor(now / ttl) * ttl;
    const windowEnd = windowStart + ttl;
    const counterKey = `${throttlerName}:${key}`.slice(0, 128);
    const totalHits = await this.counters.hit(counterKey, windowStart, windowEnd);
    // Old windows are swept now and then rather than on every request.
    if (Math.random() < 0.01) await this.counters.sweepEndedBefore(now - 3_600_000);
    const secondsLeft = Math.max(1, Math.ceil((windowEnd - now) / 1000));
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire: secondsLeft, isBlocked, timeToBlockExpire: isBlocked ? secondsLeft : 0 };
  }
}
