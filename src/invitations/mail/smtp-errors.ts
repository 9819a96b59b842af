/** What nodemailer puts on a failed send. */
export interface SendError {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
}

/**
 * Permanent: the server refused this message for good (5xx), or nodemailer could not
 * build it (bad address or content). Everything else — 4xx replies, refused or dropped
 * connections, timeouts — is temporary and retried with backoff.
 */
export function isPermanentFailure(error: SendError): boolean {
  if (typeof error.responseCode === 'number') return error.responseCode >= 500 && error.responseCode < 600;
  return error.code === 'EENVELOPE' || error.code === 'EMESSAGE';
}

/** A short reason for the outbox row and the progress box: the SMTP reply, no stack, no addresses. */
export function describeFailure(error: SendError): string {
  const text = error.response ?? error.message ?? String(error);
  return `${error.responseCode ?? error.code ?? 'error'}: ${text}`
    .replace(/[\r\n]+/g, ' ')
    .replace(/<[^<>\s]+@[^<>\s]+>/g, '<address>')
    .slice(0, 500);
}
