import { Matches } from 'class-validator';
import { message } from '../../i18n/messages';

/** A session's handle as the account page lists it (32 hex characters, never the session id). */
export class SessionHandleParam {
  @Matches(/^[0-9a-f]{32}$/, { message: message('messages:account.unknownSession') })
  handle!: string;
}
