import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';

@Controller()
export class HomeController {
  /** Staff land on the onboarding tool, the product's main page. */
  @Get()
  home(@Res() res: Response): void {
    res.redirect(303, '/portal-onboarding');
  }
}
