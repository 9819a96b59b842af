import { Body, Controller, Get, NotFoundException, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { toPrincipal } from '../auth/auth.service';
import { Public } from '../auth/decorators/public.decorator';
import { SecondStepService } from '../auth/mfa/second-step.service';
import { redirectSaved, seeOther } from '../common/views/flash';
import { View } from '../common/views/view.decorator';
import { FirstAdminDto, SetupLinkQuery } from './dto/setup.dto';
import { SETUP_LINK_INVALID, SetupTokenService } from './setup-token.service';

declare module 'express-session' {
  interface SessionData {
    /** Hash of the setup link's token, kept between opening the link and submitting the form. */
    setupTokenHash?: string;
  }
}

/**
 * /setup exists only while there is no staff user. GET /setup?token=… checks the token,
 * keeps its hash in the session and redirects to /setup, so the token leaves the address
 * bar at once and is never part of a page; the form there creates the first admin.
 */
@Public()
@Controller('setup')
export class SetupController {
  constructor(
    private readonly setup: SetupTokenService,
    private readonly secondStep: SecondStepService,
  ) {}

  @Get()
  @View('setup/first-admin')
  async page(@Query() query: SetupLinkQuery, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    if (!(await this.setup.isOpen())) throw new NotFoundException();
    if (query.token !== undefined) {
      const hash = await this.setup.check(query.token);
      if (!hash) throw new NotFoundException(SETUP_LINK_INVALID);
      req.session.setupTokenHash = hash;
      return redirectSaved(req, res, '/setup');
    }
    if (!(await this.setup.matches(req.session?.setupTokenHash))) throw new NotFoundException(SETUP_LINK_INVALID);
    return {};
  }

  @Post()
  @UseGuards(ThrottlerGuard)
  @View('setup/first-admin', { invalid: 'setup/first-admin' })
  async createFirstAdmin(
    @Body() form: FirstAdminDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    const hash = req.session?.setupTokenHash;
    if (!hash || !(await this.setup.isOpen())) throw new NotFoundException();
    const user = await this.setup.createFirstAdmin(hash, { name: form.name, email: form.email, password: form.password }, audit);
    delete req.session.setupTokenHash;
    // Signed in at once — or sent to second-factor enrolment where the policy requires one.
    return seeOther(await this.secondStep.afterPassword(req, toPrincipal(user), '/'));
  }
}
