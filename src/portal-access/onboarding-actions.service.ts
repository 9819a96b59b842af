import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { AuditContext } from '../audit/audit-context';
import { InvitationsService } from './invitations.service';
import { PatientsRepository } from '../patients/patients.repository';
import { type BatchProgress, type InviteSkipReason, type InviteSummary } from '../invitations/invitations.types';
import type { OnboardingFilter } from './onboarding-filter';
import { OnboardingQueryService, type OnboardingRow } from './onboarding-query.service';
import { deceasedRefusal } from './portal-eligibility';
import { PortalAccessService, type EnableResult } from './portal-access.service';
import { PortalReachService } from './representatives/portal-reach.service';
import { message } from '../i18n/messages';

/** What a bulk button acts on: the checked rows, or every patient matching the filter. */
export type Selection =
  | { scope: 'ids'; ids: number[] }
  /** `enabledBatch`: also the patients that bulk Enable turned on (they matched the filter before it). */
  | { scope: 'filter'; filter: OnboardingFilter; enabledBatch?: string };

/** The onboarding page's actions: one row (red block, Send Invite link) or a selection (bulk buttons). */
@Injectable()
export class OnboardingActionsService {
  constructor(
    private readonly query: OnboardingQueryService,
    private readonly access: PortalAccessService,
    private readonly invitations: InvitationsService,
    private readonly audit: AuditService,
    private readonly patients: PatientsRepository,
    private readonly reach: PortalReachService,
  ) {}

  /** Clicking a red block. Enabling an enabled patient changes nothing and is not audited again. */
  async enableOne(patientId: number, context: AuditContext): Promise<{ row: OnboardingRow; changed: boolean }> {
    const result = await this.access.enable([patientId], context);
    return { row: await this.rowOf(patientId), changed: result.enabled.length === 1 };
  }

  /** The "Send Invite to <email>" link: an invite, or a reset email when the patient has a username. */
  async inviteOne(patientId: number, context: AuditContext): Promise<{ row: OnboardingRow; summary: InviteSummary }> {
    const before = await this.rowOf(patientId);
    if (before.deceased) throw new ConflictException(deceasedRefusal(before.fullName, 'invite'));
    if (before.status === 'red') throw new ConflictException(message('staff:refusal.notEnabled', { name: before.fullName }));
    if (!before.email) throw new ConflictException(message('staff:refusal.noEmail', { name: before.fullName }));
    if (before.reach?.block === 'under_self_access_age')
      throw new ConflictException(
        message('staff:refusal.reachUnderAge', { name: before.fullName, age: this.reach.ages.minorSelfAccessAge }),
      );
    if (before.reach?.block) throw new ConflictException(message('staff:refusal.reachShared', { name: before.fullName }));
    const summary = await this.invitations.sendInvites([patientId], context, { bulk: false });
    const reason = firstSkipReason(summary);
    if (reason) throw new ConflictException(message('staff:refusal.skippedFor', { name: before.fullName, reason }));
    return { row: await this.rowOf(patientId), summary };
  }

  async enableSelection(selection: Selection, context: AuditContext): Promise<EnableResult> {
    if (selection.scope === 'ids') return this.access.enable(selection.ids, context, { bulk: true });
    return this.access.enable((manager) => this.selectedIds(selection, context, manager), context, { bulk: true });
  }

  /** What "Send Portal Invites" would do, without doing it. */
  async previewInvites(selection: Selection, context: AuditContext): Promise<InviteSummary> {
    const ids = await this.resolve(selection, context);
    return this.invitations.previewInvites(ids, { sharedEmail: await this.reach.sharedAmong(ids) });
  }

  /** Addresses others read too are skipped in bulk (issue 16); each needs a confirmed single invite from the tab. */
  async sendInvites(selection: Selection, context: AuditContext): Promise<InviteSummary> {
    const ids = await this.resolve(selection, context);
    return this.invitations.sendInvites(ids, context, { bulk: true, sharedEmail: await this.reach.sharedAmong(ids) });
  }

  /** The patient ids of a selection (ticked ids, or all matching the filter), checked to exist. */
  async patientIdsOf(selection: Selection, context: AuditContext): Promise<number[]> {
    return this.resolve(selection, context);
  }

  async batchProgress(batchId: string): Promise<BatchProgress> {
    return this.invitations.batchProgress(batchId);
  }

  async selectionSize(selection: Selection, context: AuditContext): Promise<number> {
    if (selection.scope === 'ids') return new Set(selection.ids).size;
    if (!selection.enabledBatch) return this.query.count(selection.filter);
    return (await this.selectedIds(selection, context)).length;
  }

  /**
   * "All matching" after a bulk Enable: the filter's patients now, plus those that Enable turned
   * on (only they can have left the filter: enabling changes nothing else). Only the signed-in
   * staff member's own batch counts; someone else's batch id adds nobody.
   */
  private async selectedIds(
    selection: Extract<Selection, { scope: 'filter' }>,
    context: AuditContext,
    manager?: EntityManager,
  ): Promise<number[]> {
    const matching = await this.query.matchingIds(selection.filter, manager);
    if (!selection.enabledBatch || context.actorId === null) return matching;
    const enabled = await this.audit.patientsOfBatch(selection.enabledBatch, 'portal.access_enabled', context.actorId, manager);
    return [...new Set([...matching, ...enabled])].sort((a, b) => a - b);
  }

  private async rowOf(patientId: number): Promise<OnboardingRow> {
    const [row] = await this.query.rows([patientId]);
    if (!row) throw new NotFoundException(message('staff:refusal.noPatient', { id: patientId }));
    return row;
  }

  /** Patient ids of a selection; an id that does not exist fails the whole request before anything is sent. */
  private async resolve(selection: Selection, context: AuditContext): Promise<number[]> {
    const ids = selection.scope === 'ids' ? [...new Set(selection.ids)] : await this.selectedIds(selection, context);
    if (ids.length === 0) throw new BadRequestException(message('staff:refusal.noMatch'));
    if (selection.scope === 'ids') {
      const found = await this.patients.existingIds(ids);
      const unknown = ids.filter((id) => !found.has(id));
      if (unknown.length)
        throw new NotFoundException(message('staff:refusal.noPatientsSent', { ids: unknown.slice(0, 10).join(', ') }));
    }
    return ids;
  }
}

function firstSkipReason(summary: InviteSummary): InviteSkipReason | null {
  const reasons = Object.entries(summary.skipped).filter(([, count]) => (count ?? 0) > 0);
  return reasons.length ? (reasons[0][0] as InviteSkipReason) : null;
}

/**
 * "198 invites will be sent; 2 skipped: no email on file; 3 skipped: access not enabled", as its clauses: each a
 * message key (staff.json bulk.summary.*), written out and joined by the `clauses` filter when shown.
 */
export function describeInviteSummary(summary: InviteSummary, tense: 'will' | 'did'): string[] {
  const repeated = tense === 'did' ? (summary.repeated ?? 0) : 0;
  const emails = summary.invites + summary.resets - repeated;
  // After the send the emails are queued, not yet delivered: the progress line beside it counts the deliveries.
  const first =
    `staff:bulk.summary.${tense === 'will' ? 'willBeSent' : 'queued'}${summary.resets > 0 ? 'WithResets' : ''}` as const;
  const parts = [message(first, { count: emails, resets: summary.resets })];
  if (repeated > 0) parts.push(message('staff:bulk.summary.repeated', { count: repeated }));
  if (summary.emailFailed) parts.push(message('staff:bulk.summary.emailFailed', { count: summary.emailFailed }));
  for (const [reason, count] of Object.entries(summary.skipped) as [InviteSkipReason, number][]) {
    if (count > 0) parts.push(message('staff:bulk.summary.skipped', { count, reason }));
  }
  return parts;
}
