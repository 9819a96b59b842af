import { loadConfig } from '../../src/config/app-config';
import { describeHours, InviteEmailRenderer } from '../../src/invitations/invite-email.renderer';
import { describeFailure, isPermanentFailure } from '../../src/invitations/mail/smtp-errors';
import { hashToken, isWellFormedToken, newRawToken } from '../../src/invitations/tokens';
import { checkUsername, usernameKey } from '../../src/portal-access/usernames';

describe('invite and reset tokens', () => {
  it('are 256 random bits in 43 base64url characters, stored only as their SHA-256', () => {
    const raw = newRawToken();
    expect(raw).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(raw, 'base64url')).toHaveLength(32);
    expect(newRawToken()).not.toBe(raw);
    expect(hashToken(raw)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(raw)).not.toContain(raw);
  });

  it('refuse truncated, padded, case-flipped-length or encoded forms before any lookup', () => {
    const raw = newRawToken();
    expect(isWellFormedToken(raw)).toBe(true);
    for (const bad of [raw.slice(1), `${raw}=`, `${raw}A`, encodeURIComponent(`${raw.slice(2)}/+`), '', null, 42])
      expect(isWellFormedToken(bad)).toBe(false);
  });
});

describe('portal usernames', () => {
  it('collide after case and Unicode (NFKC) folding: jsmith, JSmith and full-width ｊsmith', () => {
    expect(new Set(['jsmith', 'JSmith', 'ｊsmith', 'ＪＳＭＩＴＨ'].map(usernameKey))).toEqual(new Set(['jsmith']));
  });

  it('are 3 to 64 letters, digits, dots, dashes or underscores, without spaces, @, zero-width or direction controls', () => {
    expect(checkUsername('  maria.lopez_2 ')).toEqual({ username: 'maria.lopez_2', key: 'maria.lopez_2' });
    expect(checkUsername('José-Ødegaard')).toMatchObject({ key: 'josé-ødegaard' });
    for (const bad of [
      'ab',
      'a'.repeat(65),
      'has space',
      'me@example.com',
      'zero\u200bwidth',
      'rtl\u202eevil',
      'nul\u0000x',
      '<script>',
    ]) {
      expect(checkUsername(bad)).toHaveProperty('problem');
    }
  });
});

describe('SMTP failures', () => {
  it('are permanent for 5xx replies and unbuildable messages, temporary for 4xx and connection problems', () => {
    expect(isPermanentFailure({ responseCode: 550, code: 'EENVELOPE' })).toBe(true);
    expect(isPermanentFailure({ responseCode: 554 })).toBe(true);
    expect(isPermanentFailure({ code: 'EENVELOPE' })).toBe(true);
    expect(isPermanentFailure({ responseCode: 451, code: 'EENVELOPE' })).toBe(false);
    expect(isPermanentFailure({ responseCode: 421 })).toBe(false);
    expect(isPermanentFailure({ code: 'ECONNECTION' })).toBe(false);
    expect(isPermanentFailure({ code: 'ETIMEDOUT' })).toBe(false);
  });

  it('are described on one line without the recipient address', () => {
    const text = describeFailure({ responseCode: 550, response: '550 5.1.1 <jane@example.com>: Recipient\r\naddress rejected' });
    expect(text).toBe('550: 550 5.1.1 <address>: Recipient address rejected');
  });
});

describe('invite and reset emails', () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    SESSION_SECRET: 'x'.repeat(40),
    MFA_ENCRYPTION_KEY: 'y'.repeat(40),
    CLINIC_NAME: 'Oak & Elm Clinic',
    PUBLIC_BASE_URL: 'https://portal.example.test/',
    DATA_DIR: '/tmp/ppo-unit',
  });
  const renderer = new InviteEmailRenderer(config);

  it('carry the link from PUBLIC_BASE_URL in both parts, the first name escaped in HTML, and a neutral subject', () => {
    const email = renderer.render('invite', '<b>Zoë</b>', 'T'.repeat(43));
    expect(email.subject).toBe('Your Oak & Elm Clinic Patient Portal invitation');
    expect(email.text).toContain(`https://portal.example.test/portal/invite/${'T'.repeat(43)}`);
    expect(email.html).toContain(`href="https://portal.example.test/portal/invite/${'T'.repeat(43)}"`);
    expect(email.html).toContain('Hello &lt;b&gt;Zoë&lt;/b&gt;,');
    expect(email.html).toContain('Oak &amp; Elm Clinic');
    expect(email.text).toContain('Hello <b>Zoë</b>,');
    expect(email.text).toContain('for 7 days');
    expect(renderer.render('reset', 'Ann', 'R'.repeat(43)).text).toContain('for 1 hour');
  });

  it('keep control characters and template syntax in names inert', () => {
    const email = renderer.render('reset', 'A\r\nBcc: x@evil.test {{ 7*7 }}', 'R'.repeat(43));
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.text).toContain('Hello A  Bcc: x@evil.test {{ 7*7 }},');
    expect(email.html).not.toContain('49');
  });

  it('describe validity in words', () => {
    expect([1, 2, 24, 48, 168].map((hours) => describeHours(hours))).toEqual(['1 hour', '2 hours', '1 day', '2 days', '7 days']);
  });
});
