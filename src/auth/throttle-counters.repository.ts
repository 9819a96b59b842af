import { DataSource } from 'typeorm';
import { isSqliteManager } from '../database/sql';
import { withConflictRetry } from '../database/transactions';

/** throttle_counters: fixed-window hit counters shared by every app instance; the only place its SQL lives. */
export class ThrottleCountersRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Counts one hit in the window (epoch ms) and returns the window's hits so far. */
  async hit(key: string, windowStart: number, windowEnd: number): Promise<number> {
    // One atomic upsert; the two dialects only differ in how they spell it.
    const upsert = isSqliteManager(this.dataSource)
      ? 'INSERT INTO throttle_counters (throttle_key, window_start, window_end, hits) VALUES (?, ?, ?, 1) ON CONFLICT (throttle_key, window_start) DO UPDATE SET hits = hits + 1'
      : 'INSERT INTO throttle_counters (throttle_key, window_start, window_end, hits) VALUES (?, ?, ?, 1) ON DUPLICATE KEY UPDATE hits = hits + 1';
    // Every instance counts the same client's key: on Galera their upserts conflict now and then.
    await withConflictRetry(() => this.dataSource.query(upsert, [key, windowStart, windowEnd]));
    const [row]: Array<{ hits: number | string }> = await this.dataSource.query(
      'SELECT hits FROM throttle_counters WHERE throttle_key = ? AND window_start = ?',
      [key, windowStart],
    );
    return Number(row?.hits ?? 1);
  }

  /** Forgets windows that ended before `before` (epoch ms). */
  async sweepEndedBefore(before: number): Promise<void> {
    await withConflictRetry(() => this.dataSource.query('DELETE FROM throttle_counters WHERE window_end < ?', [before]));
  }
}
