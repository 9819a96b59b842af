import { Matches } from 'class-validator';
import { message } from '../../i18n/messages';

/** A staff session's handle as the security page lists it (32 hex characters, an HMAC — never the session id). */
export class StaffSessionHandleParam {
  @Matches(/^[0-9a-f]{32}$/, { message: message('staff:account.sessions.unknown') })
  handle!: string;
}
