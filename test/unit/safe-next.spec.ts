import { safeNextPath } from '../../src/common/safe-next';

describe('the post-sign-in destination', () => {
  it.each(['/portal-onboarding', '/portal-onboarding?tag=3&page=2', '/admin/users'])('keeps the same-site path %s', (path) => {
    expect(safeNextPath(path)).toBe(path);
  });

  it.each([
    '//evil.test',
    '/\\evil.test',
    'https:evil.test',
    'https://evil.test',
    '%2F%2Fevil.test',
    '/%2F%2Fevil.test',
    '/%5Cevil.test',
    'javascript:alert(1)',
    '/javascript:alert(1)',
    '',
    'evil.test',
    '/\r\nSet-Cookie:x',
  ])('falls back for %j', (path) => {
    expect(safeNextPath(path)).toBe('/');
  });
});
