import { APP_SCHEMA } from './app.schema';
import type { LogLevel } from '@nestjs/common';
import type { DestinationStream, Logger as Pino } from 'pino';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import nunjucks from 'nunjucks';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { createSessionKnex } from './database/data-source-options';
import { openDatabase } from './database/open-database';
import { seedDemoData } from './demo/demo-seeder';
import { ActivationFunnelRepository } from './patients/activation-funnel.repository';
import { PatientsRepository } from './patients/patients.repository';
import { seedDemoRepresentatives } from './demo/demo-representatives';
import { createCsrfProtection } from './auth/csrf';
import { createSessionMiddlewares } from './auth/session.setup';
import { StaffAuthenticator } from './auth/staff-authenticator';
import { ConfigError, type AppConfig } from './config/app-config';
import { sendError } from './common/errors/error-response';
import { hasForbiddenKey } from './common/forbidden-keys';
import { ClinicClock } from './common/time/clinic-time';
import { isCrossSiteWrite } from './common/same-origin';
import { STATIC_DIR, VIEWS_DIR } from './common/paths';
import { INVITE_PROBLEM_LABELS, PORTAL_STATUS_LABELS } from './portal-access/portal-status';
import { installTranslations } from './i18n/nunjucks-i18n';
import { portalLanguage } from './i18n/portal-language';
import { hasLocale } from './i18n/translations';
import { APP_LOGGER, AppLogger, createAppLogger, requestLogging } from './observability/logging';
import { requestTiming, timedMiddleware } from './observability/request-timing';
import { MetricsService } from './observability/metrics.service';
import { message } from './i18n/messages';

/** Everything between the socket and the controllers, in order. Shared by main.ts and the tests. */
export function configureApp(app: NestExpressApplication, config: AppConfig, sessionDb: Knex): void {
  const server = app.getHttpAdapter().getInstance() as express.Express;
  server.disable('x-powered-by');
  if (config.serverTiming) app.use(requestTiming());
  app.use(requestLogging(app.get<Pino>(APP_LOGGER)));
  app.use(app.get(MetricsService).httpMiddleware());
  // Only the configured proxy hops may set the client address (audit IPs and rate limits depend on it).
  server.set('trust proxy', config.trustProxyHops);
  server.set('query parser', 'simple');

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          ...(config.cookieSecure ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: config.cookieSecure,
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );

  app.use(
    '/static',
    express.static(STATIC_DIR, { index: false, dotfiles: 'deny', fallthrough: false, maxAge: config.isProduction ? '1h' : 0 }),
  );
  const onPortal = (req: Request) => req.path === '/portal' || req.path.startsWith('/portal/');
  app.use((req: Request, res: Response, next: NextFunction) => {
    // Pages carry patient data: never kept by browsers or shared proxies.
    res.setHeader('Cache-Control', 'no-store');
    // A first guess at the page's language, so a refused request (body, CSRF) is answered in it; refined below.
    res.locals.lang = onPortal(req) ? portalLanguage(req, config.languages) : config.staffLanguage;
    next();
  });

  app.useBodyParser('json', { limit: '256kb' });
  app.useBodyParser('urlencoded', { extended: false, limit: '256kb', parameterLimit: 2000 });
  app.use((error: Error & { status?: number; type?: string }, req: Request, res: Response, next: NextFunction) => {
    if (!error) return next();
    const status = error.status && error.status < 500 ? error.status : 400;
    sendError(req, res, status, message(status === 413 ? 'messages:request.tooLarge' : 'messages:request.unreadable'));
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    // Refused before anything reads them (OWASP: prototype pollution via __proto__/constructor keys).
    if (hasForbiddenKey(req.body) || hasForbiddenKey(req.query))
      return sendError(req, res, 400, message('messages:request.forbiddenKey'));
    next();
  });

  const sessions = createSessionMiddlewares(config, sessionDb);
  app.use(
    timedMiddleware('session', (req: Request, res: Response, next: NextFunction) =>
      (onPortal(req) ? sessions.patient : sessions.staff)(req, res, next),
    ),
  );
  const { passport } = app.get(StaffAuthenticator);
  const passportInit = passport.initialize();
  const passportSession = passport.session();
  app.use(
    timedMiddleware('user', (req: Request, res: Response, next: NextFunction) => {
      if (onPortal(req)) return next();
      passportInit(req, res, (err?: unknown) => (err ? next(err) : passportSession(req, res, next)));
    }),
  );

  const csrf = createCsrfProtection(config);
  const publicOrigin = new URL(config.publicBaseUrl).origin;
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (isCrossSiteWrite(req, publicOrigin)) return sendError(req, res, 403, message('messages:request.crossSite'));
    if (!csrf.isValid(req)) return sendError(req, res, 403, message('messages:request.formExpired'));
    // The token has done its job; DTOs refuse unknown fields.
    if (req.body && typeof req.body === 'object') delete req.body._csrf;
    // A getter: only a rendered page asks for a token (not /healthz or assets), and an anonymous one stores no session.
    Object.defineProperty(res.locals, 'csrfToken', { enumerable: true, get: () => csrf.tokenFor(req, res) });
    res.locals.currentPath = req.path;
    // A name no page model uses, so a handler returning e.g. a `staff` list cannot hide the menus.
    res.locals.signedInStaff = req.user ?? null;
    // Staff pages are in STAFF_LANGUAGE (English by default); portal pages follow the patient (cookie, link, browser).
    res.locals.lang = onPortal(req) ? portalLanguage(req, config.languages) : config.staffLanguage;
    if (onPortal(req)) {
      res.locals.portalLanguages = config.languages;
      // Back to the same page after a switch, minus any link token (never into a page's HTML or a redirect).
      res.locals.languageReturnPath = req.path
        .replace(/^(\/portal\/(?:invite|reset|email-change\/confirm|email-change\/report))\/.*$/, '$1')
        .replace(/\/[A-Za-z0-9_-]{32,}(?=\/|$)/g, '');
    }
    next();
  });

  // Each template is compiled once, in development too (`npm start` was ~3× slower recompiling per request);
  // NUNJUCKS_WATCH=1 recompiles on every render while editing views.
  const env = nunjucks.configure(VIEWS_DIR, {
    autoescape: true,
    throwOnUndefined: false,
    noCache: config.nunjucksWatch,
    express: server,
  });
  // Express looks a view's file up once (its default only in production).
  server.set('view cache', !config.nunjucksWatch);
  const missing = [...config.languages, config.staffLanguage].find((language) => !hasLocale(language));
  if (missing) throw new ConfigError('SUPPORTED_LANGUAGES', `names "${missing}", which has no locales/${missing}/ folder`);
  installTranslations(env, config.clinicTimeZone);
  env.addGlobal('clinicName', config.clinicName);
  env.addGlobal('languages', config.languages);
  env.addGlobal('statusLabels', PORTAL_STATUS_LABELS);
  env.addGlobal('inviteProblemLabels', INVITE_PROBLEM_LABELS);
  // The one time format of every page: the clinic's zone (CLINIC_TIME_ZONE), e.g. "2026-12-01 09:30 EST".
  const clock = app.get(ClinicClock);
  env.addFilter('datetime', (value: Date | string | null) => clock.formatDateTime(value));
  app.setBaseViewsDir(VIEWS_DIR);
  app.setViewEngine('njk');
}

/** Opens and migrates the database, seeds demo data on a fresh dev database, and builds the configured app. */
export async function createApplication(
  config: AppConfig,
  options: { logger?: false | LogLevel[]; logStream?: DestinationStream } = {},
): Promise<NestExpressApplication> {
  const logger = createAppLogger(config, options.logStream, levelFor(config, options.logger));
  const dataSource = await openDatabase(config, APP_SCHEMA);
  try {
    if (config.seedDemo) await seedDemoIfEmpty(dataSource, logger);
    const sessionDb = createSessionKnex(config.database);
    const server = express();
    // Case-sensitive routing: "/PORTAL/login" must not reach the portal's routes with the staff cookie and session
    // (the cookie split below compares exact paths). Set before Nest touches the router, which reads it once.
    server.set('case sensitive routing', true);
    const app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot(config, dataSource, sessionDb, logger),
      new ExpressAdapter(server),
      {
        bodyParser: false,
        bufferLogs: true,
      },
    );
    app.useLogger(app.get(AppLogger));
    configureApp(app, config, sessionDb);
    return app;
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    throw error;
  }
}

/** The callers' Nest-style level list (tests pass ['error']) mapped onto pino's level; none: LOG_LEVEL. */
function levelFor(config: AppConfig, levels: false | LogLevel[] | undefined): AppConfig['logLevel'] {
  if (levels === undefined) return config.logLevel;
  if (levels === false || levels.length === 0) return 'silent';
  for (const level of ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'] as const) {
    if (levels.includes(level))
      return ({ verbose: 'trace', debug: 'debug', log: 'info', warn: 'warn', error: 'error', fatal: 'fatal' } as const)[level];
  }
  return 'error';
}

async function seedDemoIfEmpty(dataSource: DataSource, logger: Pino): Promise<void> {
  if ((await new PatientsRepository(dataSource, new ActivationFunnelRepository()).count()) > 0) return;
  const result = await seedDemoData(dataSource, { patients: 300, seed: 1 });
  const reps = await seedDemoRepresentatives(dataSource);
  logger.info(
    { context: 'DemoData' },
    `Seeded ${result.patients + reps.patients} demo patients, ${reps.representatives} representatives (SEED_DEMO).`,
  );
}
