import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { isSqliteManager } from '../database/sql';
import { withConflictRetry } from '../database/transactions';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * @nestjs/throttler's counters kept in the database (fixed windows), so several app
 * instances behind a load balancer share one limit per client IP.
 */
@Injectable()
export class DatabaseThrottlerStorage implements ThrottlerStorage {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    const windowStart = Math.floor(now / ttl) * ttl;
    const windowEnd = windowStart + ttl;
    const counterKey = `${throttlerName}:${key}`.slice(0, 128);
    // One atomic upsert; the two dialects only differ in how they spell it.
    const upsert = isSqliteManager(this.dataSource)
      ? 'INSERT INTO throttle_counters (throttle_key, window_start, window_end, hits) VALUES (?, ?, ?, 1) ON CONFLICT (throttle_key, window_start) DO UPDATE SET hits = hits + 1'
      : 'INSERT INTO throttle_counters (throttle_key, window_start, window_end, hits) VALUES (?, ?, ?, 1) ON DUPLICATE KEY UPDATE hits = hits + 1';
    // Every instance counts the same client's key: on Galera their upserts conflict now and then.
    await withConflictRetry(() => this.dataSource.query(upsert, [counterKey, windowStart, windowEnd]));
    const [row] = await this.dataSource.query('SELECT hits FROM throttle_counters WHERE throttle_key = ? AND window_start = ?', [counterKey, windowStart]);
    // Old windows are swept now and then rather than on every request.
    if (Math.random() < 0.01) await withConflictRetry(() => this.dataSource.query('DELETE FROM throttle_counters WHERE window_end < ?', [now - 3_600_000]));
    const totalHits = Number(row?.hits ?? 1);
    const secondsLeft = Math.max(1, Math.ceil((windowEnd - now) / 1000));
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire: secondsLeft, isBlocked, timeToBlockExpire: isBlocked ? secondsLeft : 0 };
  }
}
