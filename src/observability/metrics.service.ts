import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEntry } from '../audit/audit.service';

type Audience = 'staff' | 'patient' | 'representative';
const AUDIENCES: Audience[] = ['staff', 'patient', 'representative'];

/**
 * The app's Prometheus metrics, in a registry of its own (several apps share a process in
 * tests). Labels are route templates, statuses and outcomes only — never an id, a name or
 * an address. Counters of business events are fed from the audit trail (observeAudit), the
 * one place every sign-in failure, lockout, email and import already passes.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private outboxCounter: (() => Promise<Array<{ status: string; count: number }>>) | null = null;

  readonly httpRequests = new Counter({
    name: 'portal_http_requests_total',
    help: 'HTTP requests by method, route template and status code',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'portal_http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly emails = new Counter({
    name: 'portal_emails_total',
    help: 'Emails by outcome: sent, failed (for good), bounced',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly signInFailures = new Counter({
    name: 'portal_sign_in_failures_total',
    help: 'Failed sign-in attempts (password or second step)',
    labelNames: ['audience'],
    registers: [this.registry],
  });
  readonly lockouts = new Counter({
    name: 'portal_lockouts_total',
    help: 'Accounts locked after repeated sign-in failures',
    labelNames: ['audience'],
    registers: [this.registry],
  });
  readonly importRuns = new Counter({
    name: 'portal_import_runs_total',
    help: 'Patient import runs by outcome: applied, dry_run, rejected, failed',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  /** Counted by the reminders service, once per pass (scheduled or `npm run reminders:run`). */
  readonly reminderRuns = new Counter({
    name: 'portal_reminder_runs_total',
    help: 'Reminder scheduler runs by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor() {
    // prom-client calls collect() with the gauge as `this`; the service is needed inside it.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const service = this;
    new Gauge({
      name: 'portal_mail_outbox_emails',
      help: 'Emails in the outbox by status (pending, sending, sent, failed, cancelled)',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { status, count } of (await service.outboxCounter?.()) ?? []) this.set({ status }, count);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'portal_' });
    // Every counter shows up (at 0) before its first event, so dashboards and alerts see it.
    for (const outcome of ['sent', 'failed', 'bounced']) this.emails.inc({ outcome }, 0);
    for (const audience of AUDIENCES) {
      this.signInFailures.inc({ audience }, 0);
      this.lockouts.inc({ audience }, 0);
    }
  }

  /** The invitations module tells how to count the outbox (it owns the table). */
  countOutboxWith(counter: () => Promise<Array<{ status: string; count: number }>>): void {
    this.outboxCounter = counter;
  }

  /** Express middleware: one count and one latency observation per request, labelled by the route template. */
  httpMiddleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const route = routeTemplate(req);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
        this.httpDuration.observe({ method: req.method, route }, seconds);
      });
      next();
    };
  }

  observeAudit(entries: AuditEntry[]): void {
    for (const entry of entries) {
      const failed = entry.outcome === 'failure';
      const audience = AUDIENCES.find((name) => entry.action.startsWith(`${name}.`)) ?? null;
      if (entry.action === 'mail.sent') this.emails.inc({ outcome: 'sent' });
      else if (entry.action === 'mail.failed') this.emails.inc({ outcome: 'failed' });
      else if (entry.action === 'mail.bounced') this.emails.inc({ outcome: 'bounced' });
      else if (audience && failed && (entry.action.endsWith('.sign_in') || entry.action === 'staff.second_factor'))
        this.signInFailures.inc({ audience });
      else if (audience && entry.action.endsWith('.locked_out')) this.lockouts.inc({ audience });
      else if (entry.action.startsWith('import.')) this.importRuns.inc({ outcome: entry.action.slice('import.'.length) });
    }
  }
}

/** '/patients/:id', never '/patients/42'; requests that matched no route share one label. */
function routeTemplate(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl ?? ''}${route.path}`;
  if (req.originalUrl.startsWith('/static/')) return '/static';
  return 'unmatched';
}
