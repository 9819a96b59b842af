import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { AuditActorType } from './entities/audit-event.entity';

/** Who acts and from where: passed from controllers into services so every audit row has it. */
export interface AuditContext {
  actorType: AuditActorType;
  actorId: number | null;
  actorLabel: string | null;
  ip: string | null;
  userAgent: string | null;
}

/**
 * What the audit reads of the signed-in user on `req.user`: its own contract, so the audit (a sink)
 * knows nothing of staff sign-in; auth's StaffPrincipal has these fields.
 */
interface SignedInUser {
  id: number;
  email: string;
}

export function auditContextFromRequest(
  req: Request,
  actor?: Pick<AuditContext, 'actorType' | 'actorId' | 'actorLabel'>,
): AuditContext {
  const staff = req.user as SignedInUser | undefined;
  return {
    actorType: actor?.actorType ?? (staff ? 'staff' : 'system'),
    actorId: actor?.actorId ?? staff?.id ?? null,
    actorLabel: actor?.actorLabel ?? staff?.email ?? null,
    // req.ip honours only the configured trusted proxy hops.
    ip: req.ip ?? null,
    userAgent: req.get('User-Agent')?.slice(0, 255) ?? null,
  };
}

export const SYSTEM_CONTEXT: AuditContext = { actorType: 'system', actorId: null, actorLabel: null, ip: null, userAgent: null };

/** `@Audit() audit: AuditContext` in a controller: the signed-in staff member (or anonymous visitor) and their IP. */
export const Audit = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuditContext =>
  auditContextFromRequest(ctx.switchToHttp().getRequest<Request>()),
);
