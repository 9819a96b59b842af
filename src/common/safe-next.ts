/**
 * A post-sign-in destination: only a same-site relative path. "//evil", "/\evil",
 * "https:evil" and their percent-encoded forms all fall back to `fallback`.
 */
export function safeNextPath(next: unknown, fallback = '/'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2000) return fallback;
  let decoded = next;
  try {
    for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(decoded); i++) decoded = decodeURIComponent(decoded);
  } catch {
    return fallback;
  }
  for (const candidate of [next, decoded]) {
    if (!candidate.startsWith('/') || candidate.startsWith('//') || candidate.startsWith('/\\')) return fallback;
    if (/[\\\u0000-\u001f\u007f]/.test(candidate) || /^\/[a-z][a-z0-9+.-]*:/i.test(candidate)) return fallback;
  }
  return next;
}
