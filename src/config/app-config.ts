import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isTimeZone } from '../common/time/clinic-time';

/** Raised for a bad environment variable; main.ts prints its message as one line and exits 1. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Configuration error: ${variable}${problem.startsWith(':') ? '' : ' '}${problem}`);
  }
}

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | {
      kind: 'mysql' | 'mariadb';
      host: string;
      port: number;
      username: string;
      password: string;
      database: string;
      /** The URL with the password masked, for logs and error messages. */
      display: string;
    };

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  dataDir: string;
  database: DatabaseConfig;
  /** auto: apply pending migrations at start; skip: never (a separate `npm run migration:run` step does), refuse to start if any are pending. */
  migrationsRun: 'auto' | 'skip';
  smtpUrl: string | null;
  mailDir: string;
  mailFrom: string;
  publicBaseUrl: string;
  clinicName: string;
  /** Languages patients can be served in (BCP 47, first = default); each needs a locales/<tag>/ folder. */
  languages: string[];
  /** The language of staff pages (STAFF_LANGUAGE, default en): a staff translation is a locales/<tag>/staff.json file. */
  staffLanguage: string;
  /** The clinic's phone number printed in patient emails ("ask the clinic"); null: not printed. */
  clinicPhone: string | null;
  /** PNG/JPEG/GIF logo embedded in patient emails as a CID attachment (never a remote image); null: name only. */
  clinicLogoPath: string | null;
  /** IANA zone of every time shown to staff and patients and of the days staff filter by (stored times stay UTC). */
  clinicTimeZone: string;
  sessionSecret: string;
  cookieSecure: boolean;
  mfaEncryptionKey: string;
  seedDemo: boolean;
  /** Staff sessions end after this many minutes without a request (htmx polling excluded). */
  staffIdleMinutes: number;
  /** Staff sessions end after this many hours whatever the activity. */
  staffAbsoluteHours: number;
  patientIdleMinutes: number;
  /** Patient sessions end after this many hours whatever the activity. */
  patientAbsoluteHours: number;
  inviteTtlHours: number;
  /** How long the link and code in a printed activation letter work (LETTER_TTL_DAYS, default 30). */
  letterTtlDays: number;
  resetTtlHours: number;
  /** Express `trust proxy`: number of proxy hops in front of the app (0 = none, ignore X-Forwarded-For). */
  trustProxyHops: number;
  /** Sign-in attempts (staff and patient) allowed per client IP per minute. */
  signInAttemptsPerMinute: number;
  /** Run the mail outbox sender inside this process. */
  mailSenderEnabled: boolean;
  /** Outbox sender: how long a claimed email is reserved before another sender may take it over (crashed instance). */
  mailClaimLeaseSeconds: number;
  /** Outbox sender: attempts before a temporarily failing email is marked failed. */
  mailMaxAttempts: number;
  /** Outbox sender: first retry delay after a temporary failure; doubles per attempt (capped at 1 h). */
  mailRetryBaseMs: number;
  /** Outbox sender: how often an idle sender looks for due emails. */
  mailPollMs: number;
  /** Reminder scheduler: seconds between passes in each instance (0: no scheduler here; `npm run reminders:run` from cron). */
  reminderIntervalSeconds: number;
  /** VERP bounces: mail goes out with return path bounce+<outbox id>.<hmac>@BOUNCE_DOMAIN (null: the plain MAIL_FROM). */
  bounceDomain: string | null;
  /** The inbound SMTP listener for those bounces (null: off; 0: any free port, for tests). */
  bounceSmtpPort: number | null;
  /** SMTP connections kept open by the sender's pool. */
  smtpPoolSize: number;
  /** Largest file the import page accepts (bytes). */
  importMaxBytes: number;
  /** pino level: debug adds one line per request. */
  logLevel: LogLevelName;
  /** Bearer token for GET /metrics; null: /metrics does not exist (404). */
  metricsToken: string | null;
  /** How long a SIGTERM waits for requests and emails in flight before closing anyway. */
  shutdownTimeoutMs: number;
  /** Answer each request with a Server-Timing header of its phases (bench/phases.ts); off: it reveals read times. */
  serverTiming: boolean;
  /** Recompile a Nunjucks template when its file changes (editing views); off: each template is compiled once. */
  nunjucksWatch: boolean;
  /** Worker processes sharing the port (node:cluster), e.g. one per core; 1: this process serves. */
  webConcurrency: number;
  /** Where `npm run backup` writes SQLite copies, and how many it keeps. */
  backupDir: string;
  backupKeep: number;
  /** Most rows (CSV lines, FHIR entries) one import reads; a longer file is refused without being read on. */
  importMaxRows: number;
  /** FHIR identifier.system of the clinic's medical record numbers; when set, only that identifier becomes a patient's external id. */
  importMrnSystem: string | null;
  /** Heap cap (MB) of the worker thread each import runs in: a file that needs more fails alone, the server goes on. */
  importWorkerHeapMb: number;
  /** Minors (issue 16): a parent-or-guardian representative ends when the patient reaches this age. */
  ageOfMajority: number;
  /** Below this age a patient gets no portal account of their own (COPPA's 13); a guardian is invited instead. */
  minorSelfAccessAge: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

type Env = Record<string, string | undefined>;

/** A FHIR identifier system: a URI (`http://…`, `urn:oid:…`), no spaces, at most 255 characters. */
function identifierSystem(env: Env, name: string): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  if (raw.length > 255 || !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(raw))
    throw new ConfigError(name, `must be a URI such as urn:oid:1.2.3.4 or https://clinic.example/mrn, got "${raw.slice(0, 80)}"`);
  return raw;
}

function bounceDomain(env: Env): string | null {
  const raw = env.BOUNCE_DOMAIN?.trim().toLowerCase();
  if (!raw) return null;
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$/.test(raw))
    throw new ConfigError('BOUNCE_DOMAIN', `must be a domain name, got "${raw}"`);
  return raw;
}

/** AGE_OF_MAJORITY (18) and MINOR_SELF_ACCESS_AGE (13); self-access can never begin after majority. */
function ageRules(env: Env): { ageOfMajority: number; minorSelfAccessAge: number } {
  const ageOfMajority = integer(env, 'AGE_OF_MAJORITY', 18, 1, 30);
  const minorSelfAccessAge = integer(env, 'MINOR_SELF_ACCESS_AGE', 13, 0, 30);
  if (minorSelfAccessAge > ageOfMajority)
    throw new ConfigError('MINOR_SELF_ACCESS_AGE', `must not be above AGE_OF_MAJORITY (${ageOfMajority})`);
  return { ageOfMajority, minorSelfAccessAge };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

/** mysql:// and mariadb:// URLs; mariadb:// selects TypeORM's mariadb driver (MariaDB lacks FOR SHARE). */
export function parseDatabaseUrl(raw: string, variable = 'DATABASE_URL'): DatabaseConfig {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(variable, 'is not a valid URL (expected mysql://user:pass@host:3306/db or mariadb://…)');
  }
  const kind = url.protocol.replace(/:$/, '');
  if (kind !== 'mysql' && kind !== 'mariadb') {
    throw new ConfigError(variable, `has unsupported scheme "${kind}:" (use mysql:// or mariadb://, or unset it for SQLite)`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!url.hostname) throw new ConfigError(variable, 'has no host name');
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) {
    throw new ConfigError(variable, 'must name a database in its path, e.g. mysql://root@127.0.0.1:3306/portal');
  }
  const port = url.port ? Number(url.port) : 3306;
  const masked = new URL(raw);
  if (masked.password) masked.password = '***';
  return {
    kind,
    host: url.hostname,
    port,
    username: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password),
    database,
    display: masked.toString(),
  };
}

/** A secret from the environment, or (outside production) one generated once and kept in DATA_DIR. */
function secret(env: Env, name: string, dataDir: string, isProduction: boolean, fileName: string): string {
  const raw = env[name];
  if (raw !== undefined && raw !== '') {
    if (raw.length < 32) throw new ConfigError(name, 'must be at least 32 characters long');
    return raw;
  }
  if (isProduction) throw new ConfigError(name, 'is required when NODE_ENV=production');
  const file = join(dataDir, fileName);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const generated = randomBytes(32).toString('base64url');
  writeFileSync(file, generated + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return generated;
}

/** SUPPORTED_LANGUAGES: "en,es" → ['en', 'es']; each a BCP 47 tag such as es or es-MX. */
function languageList(env: Env): string[] {
  const raw = env.SUPPORTED_LANGUAGES?.trim() || 'en,es';
  const languages = [...new Set(raw.split(',').map((tag) => tag.trim()))];
  const bad = languages.find((tag) => !/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(tag));
  if (bad !== undefined) throw new ConfigError('SUPPORTED_LANGUAGES', `must be language tags such as en,es, got "${bad}"`);
  return languages;
}

function clinicLogo(env: Env): string | null {
  const raw = env.CLINIC_LOGO_PATH?.trim();
  if (!raw) return null;
  const file = resolve(raw);
  if (!/\.(png|jpe?g|gif)$/i.test(file)) throw new ConfigError('CLINIC_LOGO_PATH', 'must be a .png, .jpg or .gif file');
  if (!existsSync(file)) throw new ConfigError('CLINIC_LOGO_PATH', `names no file: ${file}`);
  return file;
}

/** Reads and validates every setting once; the rest of the app only sees the typed object. */
export function loadConfig(env: Env = process.env): AppConfig {
  const nodeEnvRaw = env.NODE_ENV || 'development';
  if (!['development', 'production', 'test'].includes(nodeEnvRaw)) {
    throw new ConfigError('NODE_ENV', `must be development, production or test, got "${nodeEnvRaw}"`);
  }
  const nodeEnv = nodeEnvRaw as AppConfig['nodeEnv'];
  const isProduction = nodeEnv === 'production';
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const dataDir = resolve(env.DATA_DIR || './data');

  const database: DatabaseConfig = env.DATABASE_URL
    ? parseDatabaseUrl(env.DATABASE_URL)
    : { kind: 'sqlite', file: join(dataDir, 'portal.sqlite') };

  // Several instances on one MySQL/MariaDB database must not migrate at once: production there migrates as a step.
  const migrationsRun = (env.MIGRATIONS_RUN || (isProduction && database.kind !== 'sqlite' ? 'skip' : 'auto')).toLowerCase();
  if (migrationsRun !== 'auto' && migrationsRun !== 'skip')
    throw new ConfigError('MIGRATIONS_RUN', `must be auto or skip, got "${env.MIGRATIONS_RUN}"`);

  const smtpUrl = env.SMTP_URL || null;
  if (smtpUrl) {
    let scheme: string;
    try {
      scheme = new URL(smtpUrl).protocol;
    } catch {
      throw new ConfigError('SMTP_URL', 'is not a valid URL (expected smtp://user:pass@host:port or smtps://…)');
    }
    if (scheme !== 'smtp:' && scheme !== 'smtps:')
      throw new ConfigError('SMTP_URL', `must start with smtp:// or smtps://, got "${scheme}"`);
  }

  const publicBaseUrl = (env.PUBLIC_BASE_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  try {
    const parsed = new URL(publicBaseUrl);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError('PUBLIC_BASE_URL', `must be an http(s) URL, got "${publicBaseUrl}"`);
  }

  const clinicName = (env.CLINIC_NAME || 'Demo Clinic').trim();
  if (clinicName.length === 0 || clinicName.length > 100) throw new ConfigError('CLINIC_NAME', 'must be 1 to 100 characters');

  const clinicTimeZone = (env.CLINIC_TIME_ZONE || 'UTC').trim();
  if (!isTimeZone(clinicTimeZone))
    throw new ConfigError(
      'CLINIC_TIME_ZONE',
      `must be an IANA time zone name such as America/New_York or UTC, got "${clinicTimeZone}"`,
    );

  const clinicPhone = env.CLINIC_PHONE?.trim() || null;
  if (clinicPhone !== null && !/^[-+0-9 ().]{3,30}$/.test(clinicPhone))
    throw new ConfigError('CLINIC_PHONE', `must be a phone number such as (555) 010-2000, got "${clinicPhone.slice(0, 40)}"`);

  const mailFrom = env.MAIL_FROM || `"Clinic Portal" <no-reply@localhost>`;
  if (!/<[^<>@\s]+@[^<>\s]+>$|^[^<>@\s]+@[^<>\s]+$/.test(mailFrom)) {
    throw new ConfigError('MAIL_FROM', 'must be an address, e.g. "Clinic Portal" <no-reply@clinic.example>');
  }

  const logLevel = (env.LOG_LEVEL || (nodeEnv === 'test' ? 'error' : 'info')).toLowerCase() as LogLevelName;
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  const metricsToken = env.METRICS_TOKEN || null;
  if (metricsToken !== null && (metricsToken.length < 16 || /\s/.test(metricsToken)))
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters, without spaces');

  return {
    nodeEnv,
    isProduction,
    port,
    dataDir,
    database,
    migrationsRun,
    smtpUrl,
    mailDir: resolve(env.MAIL_DIR || join(dataDir, 'mail')),
    mailFrom,
    publicBaseUrl,
    clinicName,
    languages: languageList(env),
    staffLanguage: languageList({ SUPPORTED_LANGUAGES: env.STAFF_LANGUAGE || 'en' })[0],
    clinicPhone,
    clinicLogoPath: clinicLogo(env),
    clinicTimeZone,
    sessionSecret: secret(env, 'SESSION_SECRET', dataDir, isProduction, 'session-secret'),
    cookieSecure: boolean(env, 'COOKIE_SECURE', isProduction),
    mfaEncryptionKey: secret(env, 'MFA_ENCRYPTION_KEY', dataDir, isProduction, 'mfa-encryption-key'),
    seedDemo: boolean(env, 'SEED_DEMO', nodeEnv === 'development' && database.kind === 'sqlite'),
    staffIdleMinutes: integer(env, 'STAFF_IDLE_MINUTES', 15, 1, 24 * 60),
    staffAbsoluteHours: integer(env, 'STAFF_ABSOLUTE_HOURS', 12, 1, 7 * 24),
    patientIdleMinutes: integer(env, 'PATIENT_IDLE_MINUTES', 15, 1, 24 * 60),
    patientAbsoluteHours: integer(env, 'PATIENT_ABSOLUTE_HOURS', 12, 1, 7 * 24),
    inviteTtlHours: integer(env, 'INVITE_TTL_HOURS', 7 * 24, 1, 30 * 24),
    letterTtlDays: integer(env, 'LETTER_TTL_DAYS', 30, 1, 90),
    resetTtlHours: integer(env, 'RESET_TTL_HOURS', 1, 1, 72),
    trustProxyHops: integer(env, 'TRUST_PROXY_HOPS', 0, 0, 10),
    signInAttemptsPerMinute: integer(env, 'SIGN_IN_ATTEMPTS_PER_MINUTE', 20, 1, 100_000),
    mailSenderEnabled: boolean(env, 'MAIL_SENDER', true),
    mailClaimLeaseSeconds: integer(env, 'MAIL_CLAIM_LEASE_SECONDS', 120, 1, 3600),
    mailMaxAttempts: integer(env, 'MAIL_MAX_ATTEMPTS', 8, 1, 50),
    mailRetryBaseMs: integer(env, 'MAIL_RETRY_BASE_MS', 30_000, 10, 3_600_000),
    mailPollMs: integer(env, 'MAIL_POLL_MS', 1000, 10, 60_000),
    reminderIntervalSeconds: integer(env, 'REMINDER_INTERVAL_SECONDS', 300, 0, 86_400),
    bounceDomain: bounceDomain(env),
    bounceSmtpPort: env.BOUNCE_SMTP_PORT ? integer(env, 'BOUNCE_SMTP_PORT', 0, 0, 65_535) : null,
    smtpPoolSize: integer(env, 'SMTP_POOL_SIZE', 10, 1, 50),
    importMaxBytes: integer(env, 'IMPORT_MAX_BYTES', 50 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    logLevel,
    metricsToken,
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    serverTiming: boolean(env, 'SERVER_TIMING', false),
    nunjucksWatch: boolean(env, 'NUNJUCKS_WATCH', false),
    webConcurrency: integer(env, 'WEB_CONCURRENCY', 1, 1, 64),
    backupDir: resolve(env.BACKUP_DIR || join(dataDir, 'backups')),
    backupKeep: integer(env, 'BACKUP_KEEP', 7, 1, 1000),
    importMaxRows: integer(env, 'IMPORT_MAX_ROWS', 200_000, 1, 5_000_000),
    importMrnSystem: identifierSystem(env, 'IMPORT_MRN_SYSTEM'),
    importWorkerHeapMb: integer(env, 'IMPORT_WORKER_HEAP_MB', 128, 16, 16 * 1024),
    ...ageRules(env),
  };
}
