import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Knex } from 'knex';

export const SESSION_DB = Symbol('SESSION_DB');

/** Closes the session store's knex pool with the app. */
@Injectable()
export class SessionDbCloser implements OnApplicationShutdown {
  constructor(@Inject(SESSION_DB) private readonly db: Knex) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}
