import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-local';
import { auditContextFromRequest } from '../audit/audit-context';
import { PASSWORD_MAX_LENGTH } from './passwords/password-policy';
import { AuthService } from './auth.service';
import { StaffPrincipal } from './staff-principal';

@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy) {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true });
  }

  async validate(req: Request, email: unknown, password: unknown): Promise<StaffPrincipal | false> {
    // Refuse absurd input before hashing (long-password DoS); answer like any other failure.
    if (typeof email !== 'string' || typeof password !== 'string' || email.length > 254 || [...password].length > PASSWORD_MAX_LENGTH * 4) return false;
    return (await this.auth.authenticate(email, password, auditContextFromRequest(req))) ?? false;
  }
}
