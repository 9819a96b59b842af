import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/app-config';
import { redactUrl, scrub } from '../../src/observability/logging';
import { MetricsService } from '../../src/observability/metrics.service';

const TOKEN = 'q8Yc2kM0p3Vw5xZ7aB9cD1eF3gH5iJ7kL9mN1oP3qR5';

describe('what a log line may say about a URL', () => {
  it.each([
    [`/portal/invite/${TOKEN}`, '/portal/invite/[token]'],
    [`/portal/reset/${TOKEN}?utm=x`, '/portal/reset/[token]?utm=…'],
    [`/setup?token=${TOKEN}`, '/setup?token=…'],
    ['/portal-onboarding?name=Smith&tag=3', '/portal-onboarding?name=…&tag=…'],
    ['/patients/42', '/patients/42'],
    ['/static/vendor/htmx.min.js', '/static/vendor/htmx.min.js'],
  ])('%s → %s', (url, logged) => expect(redactUrl(url)).toBe(logged));
});

describe('free text in log lines', () => {
  it('masks emails, token-like strings and values quoted by database errors, and encodes line breaks', () => {
    expect(scrub(`Duplicate entry 'Ann Smith' for key 'x' for ann.smith@example.test with ${TOKEN}\nFAKE line`)).toBe(
      "Duplicate entry '[redacted]' for key 'x' for [email] with [redacted]\\nFAKE line",
    );
  });

  it('leaves ordinary messages and stack frames readable', () => {
    const frame = 'at MailSenderService.deliver (/srv/app/dist/src/invitations/mail/mail-sender.service.js:212:27)';
    expect(scrub(`Email #12 (invite) not sent (attempt 2): 451 Try again later ${frame}`)).toBe(
      `Email #12 (invite) not sent (attempt 2): 451 Try again later ${frame}`,
    );
    // A scoped package's path has an @ in it (seen as "at [email]:63:48" in an error's stack).
    const scoped = 'at /srv/app/node_modules/@nestjs/core/router/router-execution-context.js:46:28';
    expect(scrub(scoped)).toBe(scoped);
  });
});

describe('operations settings', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'ppo-ops-config-'));

  it('defaults: info logs (error in tests), no metrics, 10 s shutdown, 7 backups under DATA_DIR/backups', () => {
    const dataDir = dir();
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      logLevel: 'info',
      metricsToken: null,
      shutdownTimeoutMs: 10_000,
      backupDir: join(dataDir, 'backups'),
      backupKeep: 7,
    });
    expect(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' }).logLevel).toBe('error');
  });

  it.each([
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN must be at least 16 characters/],
    [{ BACKUP_KEEP: '0' }, /BACKUP_KEEP must be between 1 and 1000/],
    [{ SHUTDOWN_TIMEOUT_MS: 'soon' }, /SHUTDOWN_TIMEOUT_MS must be a whole number/],
  ])('refuses %p with one clear line', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: dir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir(), ...env })).toThrow(message);
  });
});

describe('business counters fed from the audit trail', () => {
  /** Every sample of a metric as "labels=value", e.g. 'audience=staff 2'. */
  const samples = async (metrics: MetricsService, name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values
      .map((sample) => `${Object.values(sample.labels).join(',')} ${sample.value}`)
      .sort();

  it('counts emails, sign-in failures and lockouts per audience, and import runs per outcome — nothing else', async () => {
    const metrics = new MetricsService();
    metrics.observeAudit([
      { action: 'mail.sent' },
      { action: 'mail.sent' },
      { action: 'mail.failed', outcome: 'failure' },
      { action: 'mail.bounced', outcome: 'failure', details: { to: 'ann@example.test' } },
      { action: 'staff.sign_in', outcome: 'failure' },
      { action: 'staff.second_factor', outcome: 'failure' },
      { action: 'staff.sign_in' },
      { action: 'staff.locked_out', outcome: 'denied' },
      { action: 'patient.sign_in', outcome: 'failure' },
      { action: 'patient.locked_out', outcome: 'denied' },
      { action: 'representative.sign_in', outcome: 'failure' },
      { action: 'representative.sign_in', outcome: 'failure' },
      { action: 'representative.locked_out', outcome: 'denied' },
      { action: 'import.applied' },
      { action: 'import.dry_run' },
      { action: 'import.dry_run' },
      { action: 'import.failed', outcome: 'failure' },
      // Not sign-ins: a wrong code while enrolling, a failed link, a changed password.
      { action: 'staff.totp_enrolled', outcome: 'failure' },
      { action: 'portal.token_failed', outcome: 'failure' },
      { action: 'patient.password_changed', outcome: 'failure' },
    ]);
    expect(await samples(metrics, 'portal_emails_total')).toEqual(['bounced 1', 'failed 1', 'sent 2']);
    expect(await samples(metrics, 'portal_sign_in_failures_total')).toEqual(['patient 1', 'representative 2', 'staff 2']);
    expect(await samples(metrics, 'portal_lockouts_total')).toEqual(['patient 1', 'representative 1', 'staff 1']);
    expect(await samples(metrics, 'portal_import_runs_total')).toEqual(['applied 1', 'dry_run 2', 'failed 1']);
    expect(await metrics.registry.metrics()).not.toContain('ann@example.test');
  });
});
