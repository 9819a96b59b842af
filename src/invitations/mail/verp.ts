import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * VERP return paths: bounce+<outbox id>.<hmac>@BOUNCE_DOMAIN. A bounce names the email it is about
 * by its address alone, and the HMAC (keyed from the session secret, never sent anywhere else) makes
 * the address unguessable: a forged bounce for another email is refused at RCPT.
 */
const TAG_LENGTH = 16;

export class Verp {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly domain: string,
  ) {
    this.key = createHmac('sha256', secret).update('verp-return-path').digest();
  }

  address(outboxId: string): string {
    return `bounce+${outboxId}.${this.tag(outboxId)}@${this.domain}`;
  }

  /** The outbox id a return path stands for, or null when it is not one of ours (or forged). */
  outboxIdOf(address: string): string | null {
    const match = /^bounce\+(\d{1,19})\.([0-9a-f]{16})@(.+)$/i.exec(address.trim());
    if (!match || match[3].toLowerCase() !== this.domain) return null;
    const expected = Buffer.from(this.tag(match[1]));
    const given = Buffer.from(match[2].toLowerCase());
    return given.length === expected.length && timingSafeEqual(given, expected) ? match[1] : null;
  }

  private tag(outboxId: string): string {
    return createHmac('sha256', this.key).update(outboxId).digest('hex').slice(0, TAG_LENGTH);
  }
}
