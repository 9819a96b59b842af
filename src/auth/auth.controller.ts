import { Body, Controller, Get, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { safeNextPath } from '../common/safe-next';
import { redirectSaved } from '../common/views/flash';
import { View } from '../common/views/view.decorator';
import { AllowPendingPasswordChange } from './decorators/allow-pending-password-change.decorator';
import { Public } from './decorators/public.decorator';
import { LoginDto, LoginPageQuery } from './dto/login.dto';
import { LocalAuthGuard } from './guards/local-auth.guard';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { sessionCookies } from './session.setup';
import { SignInFailedFilter } from './sign-in-failed.filter';

@Controller()
export class AuthController {
  constructor(
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Public()
  @Get('login')
  @View('auth/login')
  loginPage(@Query() query: LoginPageQuery) {
    return { next: safeNextPath(query.next, '') };
  }

  @Public()
  @Post('login')
  @UseGuards(ThrottlerGuard, LocalAuthGuard)
  @UseFilters(SignInFailedFilter)
  login(@Body() _form: LoginDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    return redirectSaved(req, res, req.signInRedirect ?? '/');
  }

  @Post('logout')
  @AllowPendingPasswordChange()
  async logout(@Req() req: Request, @Res() res: Response, @Audit() audit: AuditContext): Promise<void> {
    await this.audit.record(audit, { action: 'staff.sign_out' });
    req.logout({ keepSessionInfo: false }, () => {
      req.session.destroy(() => {
        const { name, ...cookie } = sessionCookies(this.config).staff;
        res.clearCookie(name, cookie);
        // What the browser kept of staff pages (cache, storage) goes too (SECURITY.md §4).
        res.setHeader('Clear-Site-Data', '"cache", "storage"');
        res.redirect(303, '/login');
      });
    });
  }
}
