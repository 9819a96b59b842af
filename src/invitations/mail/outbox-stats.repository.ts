import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../observability/metrics.service';

/** Read-only counts of mail_outbox for monitoring (the /metrics outbox-depth gauge). */
@Injectable()
export class OutboxStatsRepository implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.countOutboxWith(() => this.countByStatus());
  }

  async countByStatus(): Promise<Array<{ status: string; count: number }>> {
    const rows: Array<{ status: string; n: number | string }> = await this.dataSource.query('SELECT status, COUNT(*) AS n FROM mail_outbox GROUP BY status');
    return rows.map((row) => ({ status: row.status, count: Number(row.n) }));
  }
}
