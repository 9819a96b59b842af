import type { PortalTokenPurpose } from '../invitations/entities/portal-token.entity';
import { message } from '../i18n/messages';
/**
 * The one definition of an invite/reset link's states (issue 17, "Link states"), next to
 * portal-status.ts: queued → sent → opened → set up → first sign-in, or expired / revoked /
 * failed / bounced / not sent. `linkHistory` lists what happened to one link, oldest first;
 * `latestLinkState` is its last entry, what the onboarding row shows. Each state comes from one
 * stored time, so the history is replayable from the database alone.
 */
export type LinkState =
  'queued' | 'sent' | 'opened' | 'set_up' | 'signed_in' | 'expired' | 'revoked' | 'failed' | 'bounced' | 'not_sent';

export interface LinkStateFields {
  purpose: PortalTokenPurpose;
  /** The link's creation = when its email was queued. */
  createdAt: Date;
  expiresAt: Date;
  openedAt: Date | null;
  usedAt: Date | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  /** The outbox status of the email that carried it (null: no email row). */
  delivery: string | null;
  sentAt: Date | null;
  failedAt: Date | null;
  bouncedAt: Date | null;
  /** bounce_kind of the email; only a hard bounce is a state, a soft one is history detail. */
  bounceKind: string | null;
  /** The account's first portal sign-in (any link's). */
  firstLoginAt: Date | null;
}

export interface LinkEvent {
  state: LinkState;
  at: Date;
  /** A message key (i18n/messages): the page writes it out in the staff language. */
  label: string;
  /** A problem state (expired, failed, bounced): shown as a warning. */
  problem: boolean;
}

/** A state's words in the link history (staff.json `linkState.label.<state>`), as a message key written out when shown. */
const linkStateLabel = (state: LinkState) => message(`staff:linkState.label.${state}`);

/** A problem state: shown as a warning on the row and the tab. */
export const LINK_PROBLEM_STATES: ReadonlySet<LinkState> = new Set(['expired', 'failed', 'bounced']);

export function linkHistory(link: LinkStateFields, now: Date): LinkEvent[] {
  const events: Array<{ state: LinkState; at: Date | null }> = [
    { state: 'queued', at: link.createdAt },
    { state: 'sent', at: link.sentAt },
    { state: 'failed', at: link.delivery === 'failed' ? (link.failedAt ?? link.createdAt) : null },
    { state: 'not_sent', at: link.delivery === 'cancelled' ? (link.revokedAt ?? link.createdAt) : null },
    { state: 'bounced', at: link.bounceKind === 'hard' ? link.bouncedAt : null },
    { state: 'opened', at: link.openedAt },
    { state: 'set_up', at: link.usedAt },
    // The first sign-in belongs to the link that set the account up (it came after it).
    {
      state: 'signed_in',
      at: link.usedAt && link.firstLoginAt && link.firstLoginAt >= link.usedAt ? link.firstLoginAt : null,
    },
    { state: 'revoked', at: link.delivery === 'cancelled' ? null : link.revokedAt },
    { state: 'expired', at: !link.usedAt && !link.revokedAt && link.expiresAt <= now ? link.expiresAt : null },
  ];
  return events
    .filter((event): event is { state: LinkState; at: Date } => event.at !== null)
    .map((event, order) => ({ ...event, order }))
    .sort((a, b) => a.at.getTime() - b.at.getTime() || a.order - b.order)
    .map(({ state, at }) => ({ state, at, label: linkStateLabel(state), problem: LINK_PROBLEM_STATES.has(state) }));
}

/**
 * Which state is "the latest" when several happened: the furthest along the journey, and an end
 * (failed, bounced, revoked, expired) over the steps before it. Ranked rather than sorted by time so
 * a link whose times disagree (clock skew, hand-edited rows) still reads the same. A failed email
 * wins over an expiry, as in portal-status.ts's invite problems: its link never arrived.
 */
const PRECEDENCE: readonly LinkState[] = [
  'queued',
  'sent',
  'opened',
  'expired',
  'revoked',
  'not_sent',
  'failed',
  'bounced',
  'set_up',
  'signed_in',
];

/** What the row says about a patient's latest link: its latest state (see PRECEDENCE) with that state's time. */
export function latestLinkState(link: LinkStateFields, now: Date): LinkEvent {
  const rank = (event: LinkEvent) => PRECEDENCE.indexOf(event.state);
  return linkHistory(link, now).reduce((latest, event) => (rank(event) >= rank(latest) ? event : latest));
}

/** The row's words ("Invite opened", "Reset email sent", "Account set up"): staff.json `linkState.<purpose>.<state>`, a message key. */
export function linkStatePhrase(purpose: PortalTokenPurpose, state: LinkState): string {
  return message(`staff:linkState.${purpose}.${state}`);
}

/** The row's state from the latest invite/reset email (invitations' LatestInvite) and the account's first sign-in. */
export function latestInviteState(
  invite: Omit<LinkStateFields, 'firstLoginAt'> | null,
  firstLoginAt: Date | null,
  now: Date,
): (LinkEvent & { phrase: string }) | null {
  if (!invite) return null;
  const latest = latestLinkState({ ...invite, firstLoginAt }, now);
  return { ...latest, phrase: linkStatePhrase(invite.purpose, latest.state) };
}
