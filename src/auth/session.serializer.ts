import { Injectable } from '@nestjs/common';
import { PassportSerializer } from '@nestjs/passport';
import { AuthService } from './auth.service';
import { StaffPrincipal } from './staff-principal';

interface StoredStaff {
  id: number;
  generation: number;
}

/** The session keeps only the id and the user's session generation; every request re-reads the user. */
@Injectable()
export class StaffSessionSerializer extends PassportSerializer {
  constructor(private readonly auth: AuthService) {
    super();
  }

  serializeUser(user: StaffPrincipal, done: (err: Error | null, stored?: StoredStaff) => void): void {
    this.auth.sessionGenerationOf(user.id).then(
      (generation) => done(null, { id: user.id, generation }),
      (error: Error) => done(error),
    );
  }

  deserializeUser(stored: StoredStaff, done: (err: Error | null, user?: StaffPrincipal | false) => void): void {
    this.auth.principalForSession(stored.id, stored.generation).then(
      (principal) => done(null, principal ?? false),
      (error: Error) => done(error),
    );
  }
}
