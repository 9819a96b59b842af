import { Controller, Get, NotFoundException, Req, Res, UnauthorizedException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Public } from '../auth/decorators/public.decorator';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { MetricsService } from './metrics.service';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Prometheus scrape endpoint. Public to the staff guard (a scraper has no session) but
 * not open: it does not exist without METRICS_TOKEN, and then needs that bearer token.
 */
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Get()
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (!this.config.metricsToken) throw new NotFoundException();
    const given = /^Bearer (\S+)$/.exec(req.get('Authorization') ?? '')?.[1] ?? '';
    if (!timingSafeEqual(digest(given), digest(this.config.metricsToken))) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedException('A valid metrics token is required.');
    }
    const body = await this.metrics.registry.metrics();
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(body);
  }
}
