import Bowser from 'bowser';

/** "Firefox 128 on Windows 10", "Safari on iPhone (iOS 17.5)", or "Unknown browser". */
export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent) return 'Unknown browser';
  const parsed = Bowser.parse(userAgent);
  const major = parsed.browser.version?.split('.')[0];
  const browser = parsed.browser.name ? `${parsed.browser.name}${major ? ` ${major}` : ''}` : 'Unknown browser';
  const os = [parsed.os.name, parsed.os.versionName ?? parsed.os.version].filter(Boolean).join(' ');
  const device = parsed.platform.type === 'mobile' || parsed.platform.type === 'tablet' ? parsed.platform.model : undefined;
  if (device) return `${browser} on ${device}${os ? ` (${os})` : ''}`;
  return os ? `${browser} on ${os}` : browser;
}
