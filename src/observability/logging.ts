import { Injectable } from '@nestjs/common';
import { Logger as PinoNestLogger } from 'nestjs-pino';
// Not re-exported by the package's index; the file is part of its published API surface (LoggerModule uses it).
import { storage, Store } from 'nestjs-pino/storage';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import { pinoHttp } from 'pino-http';
import pretty from 'pino-pretty';
import type { AppConfig, LogLevelName } from '../config/app-config';

export const APP_LOGGER = Symbol('APP_LOGGER');

/** Where log lines of request-free code (startup, the mail sender) carry no request id. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Field names whose values never reach a log line, wherever they appear in a logged object. */
const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'confirmPassword',
  'token',
  'tokenHash',
  'email',
  'to',
  'toAddress',
  'firstName',
  'lastName',
  'patientName',
  'username',
  'cookie',
  'authorization',
  'sid',
  'sessionId',
  'code',
];
const REDACT_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((field) => `*.${field}`), 'req.headers', 'res.headers'];

/** Link tokens never reach a log, whatever the case of the path (routing is case-sensitive, clients are not). */
export function redactTokens(path: string): string {
  return path.replace(/(\/portal\/(?:invite|reset|email-change\/(?:confirm|report))\/)[^/?#]+/gi, '$1[token]');
}

/** A path segment that looks like a random link token (invite, reset, setup, or any later link). */
const TOKEN_SEGMENT = /^[A-Za-z0-9_-]{20,}$/;

/**
 * A URL fit for a log line: token-like path segments become `[token]`, and every query
 * value is dropped (query strings hold setup tokens, searched patient names, emails).
 */
export function redactUrl(url: string | undefined): string {
  if (!url) return '';
  const [path, query] = url.split('?', 2);
  const safePath = redactTokens(path)
    .split('/')
    .map((segment) => (TOKEN_SEGMENT.test(segment) ? '[token]' : segment))
    .join('/');
  if (query === undefined) return safePath;
  const keys = query
    .split('&')
    .filter(Boolean)
    .map((pair) => `${encodeURIComponent(decodeSafe(pair.split('=', 1)[0])).slice(0, 40)}=…`);
  return `${safePath}?${keys.join('&')}`;
}

function decodeSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// A domain has no "/": paths of scoped packages (node_modules/@nestjs/core/x.js) are not addresses.
const EMAIL = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:/]+\.[^\s@<>"'(),;:/]+/g;
const LONG_TOKEN = /[A-Za-z0-9_-]{32,}/g;
/** Database messages quote the offending value ("Duplicate entry 'Ann Smith' for key …", "Incorrect string value: '…'"). */
const QUOTED_VALUE = /(Duplicate entry |Incorrect \w+ value: |Data truncated for column )'[^']*'/g;

/** Free text fit for a log line: emails, token-like strings and quoted column values masked; CR/LF encoded. */
export function scrub(text: string): string {
  return text
    .replace(QUOTED_VALUE, "$1'[redacted]'")
    .replace(EMAIL, '[email]')
    .replace(LONG_TOKEN, '[redacted]')
    .replace(/[\r\n]/g, (c) => (c === '\r' ? '\\r' : '\\n'));
}

/** Errors keep their type, message and stack (scrubbed) — never their enumerable extras (TypeORM puts the query's parameters there). */
function serializeError(error: unknown): Record<string, unknown> {
  // pino-http hands serializers pino's own plain-object copy of the error, not the Error itself.
  if (!error || typeof error !== 'object') return { message: scrub(String(error)) };
  const { name, type, message, stack } = error as { name?: unknown; type?: unknown; message?: unknown; stack?: unknown };
  return {
    type: String(type ?? name ?? 'Error'),
    message: scrub(String(message ?? '')),
    stack: typeof stack === 'string' ? scrub(stack) : undefined,
  };
}

/**
 * The app's one pino logger. Production: JSON lines. Elsewhere: short pino-pretty lines,
 * coloured only when stdout is a terminal. Tests pass their own destination to read the lines.
 */
export function createAppLogger(
  config: Pick<AppConfig, 'isProduction' | 'logLevel'>,
  destination?: DestinationStream,
  level: LogLevelName = config.logLevel,
): Pino {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: {
      // Messages are free text: scrub them (structured fields are covered by `redact`).
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrub(arg) : arg)) as Parameters<typeof method>);
      },
    },
  };
  if (destination) return pino(options, destination);
  if (config.isProduction) return pino(options, pino.destination({ fd: 1, sync: false }));
  return pino(
    options,
    pretty({
      colorize: Boolean(process.stdout.isTTY),
      sync: true,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,context,reqId,res,responseTime,setupUrl,err',
      messageFormat:
        '{if context}{context}: {end}{msg}{if setupUrl} {setupUrl}{end}{if reqId} [{reqId}]{end}{if err.stack} {err.stack}{end}',
    }),
  );
}

/**
 * The first middleware: gives each request a short random id (also the X-Request-Id header
 * and the error page's reference), binds it to every log line written while serving it,
 * and writes one line per request at debug level — method, redacted URL, status, time.
 */
export function requestLogging(logger: Pino): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  const http = pinoHttp({
    logger,
    genReqId: (_req: IncomingMessage, res: ServerResponse) => {
      const id = randomBytes(9).toString('base64url');
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    quietReqLogger: true,
    quietResLogger: true,
    customLogLevel: () => 'debug',
    customSuccessMessage: (req, res, ms) => `${req.method} ${redactUrl(req.url)} ${res.statusCode} ${ms} ms`,
    customErrorMessage: (req, res) => `${req.method} ${redactUrl(req.url)} ${res.statusCode}`,
    serializers: { err: serializeError, res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }) },
  });
  // What nestjs-pino's own middleware would do: Nest's Logger calls made while serving the request use its logger.
  return (req, res, next) => http(req, res, () => storage.run(new Store(req.log), next));
}

/** Nest's startup chatter (one "Mapped {/x, GET} route" line per route, module wiring) goes to debug. */
const QUIET_CONTEXTS = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader', 'NestFactory', 'NestApplication']);

/** nestjs-pino's Nest logger, with the startup chatter demoted to debug. */
@Injectable()
export class AppLogger extends PinoNestLogger {
  log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && QUIET_CONTEXTS.has(context)) return this.debug(message, ...optionalParams);
    super.log(message, ...optionalParams);
  }
}
