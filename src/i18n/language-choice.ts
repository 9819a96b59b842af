/** The cookie that remembers the language a patient picked on the portal (not a secret, not PHI). */
export const LANGUAGE_COOKIE = 'portal_lang';
const ONE_YEAR_SECONDS = 365 * 24 * 3600;

/** "es-MX" → "es" when only "es" is offered; null when nothing offered matches. */
export function matchLanguage(tag: string | null | undefined, offered: readonly string[]): string | null {
  if (!tag) return null;
  const wanted = tag.trim().toLowerCase();
  if (!/^[a-z]{2,3}(-[a-z0-9]{1,8})*$/.test(wanted)) return null;
  return (
    offered.find((language) => language.toLowerCase() === wanted) ??
    offered.find((language) => language.toLowerCase() === wanted.split('-')[0]) ??
    null
  );
}

/** The best offered language of an Accept-Language header ("es-MX,es;q=0.9,en;q=0.8"), by q then order. */
export function fromAcceptLanguage(header: string | undefined, offered: readonly string[]): string | null {
  if (!header) return null;
  const ranges = header
    .split(',')
    .slice(0, 20)
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](\.\d{0,3})?)\s*$/.exec(p)).find(Boolean);
      return { tag, q: q ? Number(q[1]) : 1, index };
    })
    .filter((range) => range.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const range of ranges) {
    const match = matchLanguage(range.tag, offered);
    if (match) return match;
  }
  return null;
}

/** The language cookie's value from a Cookie header, if it names an offered language. */
export function fromLanguageCookie(cookieHeader: string | undefined, offered: readonly string[]): string | null {
  const value = new RegExp(`(?:^|;\\s*)${LANGUAGE_COOKIE}=([^;]*)`).exec(cookieHeader ?? '')?.[1];
  return value ? matchLanguage(decodeURIComponent(value), offered) : null;
}

/** Set-Cookie options for the remembered language: the portal only, a year, readable by no script. */
export function languageCookieOptions(secure: boolean) {
  return { path: '/portal', maxAge: ONE_YEAR_SECONDS * 1000, httpOnly: true, sameSite: 'lax' as const, secure };
}
