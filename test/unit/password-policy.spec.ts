import { checkNewPassword, passwordLength } from '../../src/auth/passwords/password-policy';
import { translateMessage } from '../../src/i18n/messages';

/** The problems as an English reader sees them (the policy returns message keys). */
const english = (problems: string[]) => problems.map((problem) => translateMessage('en', problem)).join(' ');

describe('the password policy (NIST 800-63B-4, password-only sign-in)', () => {
  it.each([
    'correct horse battery staple',
    'lantern meadow copper violin',
    'mañana tomaré café con leche',
    '日本語のパスワードはとても長いです安全',
    'twenty char lowercase',
  ])('accepts the passphrase %s', (password) => {
    expect(checkNewPassword(password, ['Jane Doe', 'jane@example.com', 'Demo Clinic'])).toEqual([]);
  });

  it.each([
    ['Password1!', /at least 15/],
    ['fourteen chars', /at least 15/],
    ['passwordpasswordpassword', /too common/],
    ['123456789012345678', /too common|words/],
    ['aaaaaaaaaaaaaaaaaaaa', /too common|repeats/],
    ['Demo Clinic 2025!!!!!', /clinic/],
    ['JaneDoe1990JaneDoe!!', /name/],
    ['jane@example.com 2024', /email|name/],
    ['x'.repeat(257), /at most 256/],
  ])('refuses %s', (password, reason) => {
    expect(english(checkNewPassword(password, ['Jane Doe', 'jane@example.com', 'Demo Clinic', '1990-04-01']))).toMatch(reason);
  });

  it('counts code points of the NFKC form, not UTF-16 units or bytes', () => {
    expect(passwordLength('😀'.repeat(15))).toBe(15);
    expect(passwordLength('e\u0301'.repeat(15))).toBe(15);
  });
});
