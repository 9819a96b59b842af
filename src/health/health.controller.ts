import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Public } from '../auth/decorators/public.decorator';

@Controller('healthz')
export class HealthController {
  constructor(private readonly dataSource: DataSource) {}

  /** 200 while the database answers, 503 otherwise (for load balancers and monitors). */
  @Public()
  @Get()
  @HttpCode(200)
  async check(): Promise<{ status: 'ok' }> {
    try {
      await this.dataSource.query('SELECT 1');
      return { status: 'ok' };
    } catch {
      throw new ServiceUnavailableException('database unreachable');
    }
  }
}
