import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Rate-limit counters in the database, so every app instance counts the same attempts. */
export class ThrottleCounters1764700000000 implements MigrationInterface {
  name = 'ThrottleCounters1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'throttle_counters',
        columns: [
          // The throttler's key (a hash of route and client IP) and the fixed time window it counts in.
          { name: 'throttle_key', type: 'varchar', length: '128', isPrimary: true },
          { name: 'window_start', type: 'bigint', isPrimary: true },
          { name: 'window_end', type: 'bigint' },
          { name: 'hits', type: 'int', default: 0 },
        ],
        indices: [new TableIndex({ name: 'ix_throttle_counters_end', columnNames: ['window_end'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('throttle_counters');
  }
}
