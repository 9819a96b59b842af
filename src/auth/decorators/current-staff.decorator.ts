import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { StaffPrincipal } from '../staff-principal';

/** The signed-in staff member of a guarded route. */
export const CurrentStaff = createParamDecorator((_data: unknown, ctx: ExecutionContext): StaffPrincipal => {
  return ctx.switchToHttp().getRequest<Request>().user as StaffPrincipal;
});
