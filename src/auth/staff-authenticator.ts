import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { auditContextFromRequest } from '../audit/audit-context';
import { AuthService, sessionPrincipal } from './auth.service';
import { takePrereadStaffUser } from './session.setup';
import { PASSWORD_MAX_LENGTH } from './passwords/password-policy';
import type { StaffPrincipal } from './staff-principal';

interface StoredStaff {
  id: number;
  generation: number;
}

/**
 * This app's own passport instance (local strategy + session serializers).
 * Not the process-wide `passport` singleton: several apps in one process (tests, workers)
 * would otherwise share — and overwrite — each other's strategy and serializers.
 */
@Injectable()
export class StaffAuthenticator {
  readonly passport = new passport.Passport();

  constructor(private readonly auth: AuthService) {
    this.passport.use(
      'local',
      new LocalStrategy(
        { usernameField: 'email', passwordField: 'password', passReqToCallback: true },
        (req: Request, email: string, password: string, done) => {
          // Refuse absurd input before hashing (long-password DoS); it answers like any other failure.
          if (
            typeof email !== 'string' ||
            typeof password !== 'string' ||
            email.length > 254 ||
            [...password].length > PASSWORD_MAX_LENGTH * 4
          )
            return done(null, false);
          this.auth.authenticate(email, password, auditContextFromRequest(req)).then((user) => done(null, user ?? false), done);
        },
      ),
    );
    // The session keeps only the id and the user's session generation; every request re-reads the user.
    this.passport.serializeUser<StoredStaff>((user, done) => {
      const principal = user as StaffPrincipal;
      this.auth.sessionGenerationOf(principal.id).then((generation) => done(null, { id: principal.id, generation }), done);
    });
    // The user's row usually came with the session's (one read, session.setup.ts); otherwise it is read here.
    this.passport.deserializeUser<StoredStaff, Request>((req, stored, done) => {
      const preread = takePrereadStaffUser(req);
      if (preread !== undefined && (preread === null || preread.id === stored.id))
        return done(null, sessionPrincipal(preread, stored.generation) ?? false);
      this.auth.principalForSession(stored.id, stored.generation).then((principal) => done(null, principal ?? false), done);
    });
  }

  /** Runs the local strategy; resolves the principal or null (every failure looks the same). */
  authenticate(req: Request): Promise<StaffPrincipal | null> {
    return new Promise((resolve, reject) => {
      this.passport.authenticate('local', { session: false }, (error: unknown, user: StaffPrincipal | false) =>
        error ? reject(error) : resolve(user || null),
      )(req, req.res, reject);
    });
  }

  /** Starts the session for the principal; passport regenerates the session id (no fixation). */
  logIn(req: Request, principal: StaffPrincipal): Promise<void> {
    return new Promise((resolve, reject) => req.logIn(principal, (error) => (error ? reject(error) : resolve())));
  }
}
