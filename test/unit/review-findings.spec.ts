import { SettingsRepository } from '../../src/auth/settings.repository';
import { stringify } from 'csv-stringify/sync';
import { redactTokens } from '../../src/observability/logging';
import { CSV_SEPARATORS, safeCell } from '../../src/common/csv-output';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditService } from '../../src/audit/audit.service';
import type { AppConfig } from '../../src/config/app-config';
import { EmailChangePolicyService } from '../../src/portal-access/email-change/email-change-policy.service';

describe('CSV cells for spreadsheets of any locale', () => {
  it('escapes a formula start after every separator, not only at the start of the cell', () => {
    expect(safeCell('Baker;=1+2;')).toBe("Baker;'=1+2;");
    expect(safeCell('a,@SUM(A1)')).toBe("a,'@SUM(A1)");
    expect(safeCell('a\t+1')).toBe("a\t'+1");
    expect(safeCell('line\n-2')).toBe("line\n'-2");
    expect(safeCell('=x;=y')).toBe("'=x;'=y");
    expect(safeCell('Smith; Jr.')).toBe('Smith; Jr.');
  });

  it('quotes every cell that holds , ; or a tab', () => {
    const line = stringify([['Baker;x', 'a\tb', 'c,d', 'plain']], { quoted_match: CSV_SEPARATORS });
    expect(line).toBe('"Baker;x","a\tb","c,d",plain\n');
  });
});

describe('token redaction in logged paths', () => {
  it('hides link tokens whatever the case of the path', () => {
    expect(redactTokens('/portal/invite/abc')).toBe('/portal/invite/[token]');
    expect(redactTokens('/PORTAL/Reset/abc')).toBe('/PORTAL/Reset/[token]');
    expect(redactTokens('/portal/email-change/confirm/abc')).toBe('/portal/email-change/confirm/[token]');
    expect(redactTokens('/portal/email-change/report/abc')).toBe('/portal/email-change/report/[token]');
  });
});

describe('the email-change approval policy', () => {
  const policy = (isProduction: boolean) =>
    new EmailChangePolicyService(
      {} as DataSource,
      { isProduction } as AppConfig,
      {} as AuditService,
      new SettingsRepository({} as DataSource),
    );
  const manager = (stored: string | null) =>
    ({ findOneBy: async () => (stored === null ? null : { value: stored }) }) as unknown as EntityManager;

  it('needs a second staff member’s approval by default in production, not elsewhere', async () => {
    expect(await policy(true).needsApproval(manager(null))).toBe(true);
    expect(await policy(false).needsApproval(manager(null))).toBe(false);
  });

  it('follows what an admin stored, in production too', async () => {
    expect(await policy(true).needsApproval(manager('false'))).toBe(false);
    expect(await policy(false).needsApproval(manager('true'))).toBe(true);
  });
});
