/**
 * Reading a delivery status notification (RFC 3464): the message/delivery-status part holds one
 * block per recipient with "Action:" (failed, delayed, delivered, relayed, expanded) and "Status:"
 * (class 5 permanent, 4 temporary). Failed or 5.x.x is a hard bounce; delayed or 4.x.x a soft one.
 */
export type BounceKind = 'hard' | 'soft';

export interface Bounce {
  kind: BounceKind;
  /** Status and diagnostic, for the outbox row and the audit trail. */
  detail: string;
}

export function classifyDeliveryStatus(text: string): Bounce | null {
  const blocks = text.replace(/\r\n/g, '\n').split(/\n\s*\n/);
  let soft: Bounce | null = null;
  for (const block of blocks) {
    const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(block)?.[1].trim() ?? '';
    const action = field('Action').toLowerCase();
    const status = field('Status');
    if (!action && !status) continue;
    const detail = [status, field('Diagnostic-Code')].filter(Boolean).join(' ').slice(0, 500);
    if (action === 'failed' || /^5\./.test(status)) return { kind: 'hard', detail: detail || 'failed' };
    if (action === 'delayed' || /^4\./.test(status)) soft ??= { kind: 'soft', detail: detail || 'delayed' };
  }
  return soft;
}
