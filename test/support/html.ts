/** The CSRF token of a rendered page (the hidden `_csrf` field or the body's hx-headers). */
export function csrfTokenOf(html: string): string {
  const match =
    /name="_csrf" value="([^"]+)"/.exec(html) ??
    /&quot;X-CSRF-Token&quot;: &quot;([^&]+)&quot;/.exec(html) ??
    /"X-CSRF-Token": "([^"]+)"/.exec(html);
  if (!match) throw new Error('No CSRF token in the page');
  return match[1];
}
