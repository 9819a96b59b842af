import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Public } from '../auth/decorators/public.decorator';
import { pendingMigrations } from '../database/cluster';

/** For load balancers and monitors (deploy/haproxy.cfg checks /readyz). */
@Controller()
export class HealthController {
  constructor(private readonly dataSource: DataSource) {}

  /** Liveness: 200 while the process answers, whatever the database does (restart it if this fails). */
  @Public()
  @Get('healthz')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: 200 when the database answers and its schema is the one this code expects;
   * 503 otherwise, so the balancer sends staff to another instance (a dead or non-primary
   * Galera node fails the migrations-table read).
   */
  @Public()
  @Get('readyz')
  @HttpCode(200)
  async ready(): Promise<{ status: 'ready' }> {
    let pending: string[];
    try {
      pending = await pendingMigrations(this.dataSource);
    } catch {
      throw new ServiceUnavailableException('database unreachable');
    }
    if (pending.length) throw new ServiceUnavailableException('database schema is behind this version');
    return { status: 'ready' };
  }
}
