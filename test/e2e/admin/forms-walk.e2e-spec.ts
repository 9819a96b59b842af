import request from 'supertest';
import { SYSTEM_CONTEXT } from '../../../src/audit/audit-context';
import { SecondFactorService } from '../../../src/auth/mfa/second-factor.service';
import { seedDemoData } from '../../../src/demo/demo-seeder';
import { formBody, type FormSubmission, submissionsOf } from '../../support/forms';
import { csrfTokenOf } from '../../support/html';
import { createActivatedPatient, createPortalPatient } from '../../support/portal-patients';
import { isPortalPublicRoute, isPortalRoute, registeredRoutes, staffPageRoutes } from '../../support/routes';
import { createStaffUser, signIn } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

type Agent = ReturnType<typeof request.agent>;

/** What one submitted form answered. */
interface Outcome {
  form: string;
  page: string;
  answer: string;
}

const WALK_CSV =
  'external_id,first_name,last_name,date_of_birth,email\nMRN-WALK,Wanda,Walkcsv,1970-05-06,wanda.walkcsv@example.test\n';

/** Each form is submitted after a fresh load of its page: a few hundred requests, slow on a shared machine. */
const WALK_TIMEOUT = 900_000;

/** What a walked "change your password" form sets. */
const NEW_PASSWORD = 'a brand new passphrase for the walk';

let filled = 0;
/** A value for a required field the page left empty, as a user completing the form would type it. */
function fillFor(password: string) {
  return (name: string, type: string): string => {
    filled += 1;
    if (type === 'email' || /email/i.test(name)) return `walk${filled}.${Date.now()}@clinic.test`;
    if (type === 'date') return '1990-02-03';
    if (type === 'password') return /current/i.test(name) ? password : NEW_PASSWORD;
    if (type === 'number') return '1';
    return `Walk ${filled}`;
  };
}

/** The signed-in agent a walk submits with, and how it signs in again after a form signed it out. */
interface WalkSession {
  agent: Agent;
  password: string;
  signedIn: () => Promise<boolean>;
  signInAgain: (password: string) => Promise<Agent>;
}

/**
 * Issue 13, defect 5: every form a page shows, submitted as a browser without JavaScript submits
 * it (its own fields and values; required empty fields filled), answers 303 to a GET page that
 * opens, or refuses with a 4xx page that changed nothing, or downloads a file. Never a 200 page:
 * that page would be re-posted by Reload and Back. A new form on any walked page is walked too.
 */
describe('every form on every page uses post/redirect/get', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    await seedDemoData(t.dataSource, { patients: 6, seed: 13 });
  });
  afterAll(async () => t.close());

  /**
   * Submits every POST form of each page once. The page is fetched again before each form, so
   * each form carries fresh values (versions, tokens) after the previous ones changed things.
   */
  async function walk(
    pages: string[],
    session: WalkSession,
    skip: (submission: FormSubmission) => boolean,
  ): Promise<{ outcomes: Outcome[]; failures: Outcome[] }> {
    const outcomes: Outcome[] = [];
    const failures: Outcome[] = [];
    // The layout's forms (Sign out) are on every page: one walk of each form is enough.
    const walked = new Set<string>();
    for (const page of pages) {
      const first = await session.agent.get(page);
      if (first.status !== 200 || !/^text\/html/.test(first.headers['content-type'] ?? '')) continue;
      const count = submissionsOf(first.text, page, () => '').length;
      for (let index = 0; index < count; index += 1) {
        const fresh = await session.agent.get(page);
        if (fresh.status !== 200) break;
        const submission = submissionsOf(fresh.text, page, fillFor(session.password))[index];
        if (!submission || submission.method !== 'post' || skip(submission) || walked.has(submission.label)) continue;
        walked.add(submission.label);
        const outcome = { form: submission.label, page, answer: '' };
        let res: request.Response;
        if (submission.multipart) {
          // An upload: the CSRF token travels in the header htmx sets (a multipart body is read after the
          // CSRF check); the file is a one-row CSV, checked only (the walk ticks "Dry run").
          const upload = session.agent.post(submission.action).set('X-CSRF-Token', csrfTokenOf(fresh.text));
          for (const [name, value] of submission.fields) if (name !== '_csrf') upload.field(name, value);
          for (const name of submission.files) upload.attach(name, Buffer.from(WALK_CSV), 'walk.csv');
          res = await upload;
        } else if (!submission.fields.some(([name, value]) => name === '_csrf' && value)) {
          failures.push({ ...outcome, answer: 'no _csrf field: the form cannot work without JavaScript' });
          continue;
        } else {
          res = await session.agent
            .post(submission.action)
            .set('Content-Type', 'application/x-www-form-urlencoded')
            .send(formBody(submission.fields));
        }
        const type = res.headers['content-type'] ?? '';
        if (res.status === 303) {
          const location = res.headers.location ?? '';
          const landed = location.startsWith('/') ? await session.agent.get(location) : null;
          const landedOk = landed !== null && (landed.status === 200 || landed.status === 303);
          outcome.answer = `303 → ${location.split('?')[0]}${landedOk ? '' : ` (GET answered ${landed?.status ?? 'nothing'})`}`;
          (landedOk ? outcomes : failures).push(outcome);
          if (submission.fields.some(([name]) => name === 'currentPassword')) session.password = NEW_PASSWORD;
        } else if (res.status >= 400 && res.status < 500 && /^text\/html/.test(type)) {
          outcomes.push({ ...outcome, answer: `${res.status} (refused, re-shown)` });
        } else if (res.status === 200 && !/^text\/html/.test(type)) {
          outcomes.push({ ...outcome, answer: `200 download (${type.split(';')[0]})` });
        } else {
          failures.push({ ...outcome, answer: `${res.status} ${type.split(';')[0]}` });
        }
        // A form that signed us out (Sign out, a policy that ends sessions): sign in again and go on.
        if (!(await session.signedIn())) session.agent = await session.signInAgain(session.password);
      }
    }
    return { outcomes, failures };
  }

  it(
    'staff: admin pages, the onboarding list, a patient’s dashboard tabs and the account pages',
    async () => {
      const admin = await createStaffUser(t, 'admin', 'Walker Admin');
      const colleague = await createStaffUser(t, 'staff', 'Colin Colleague');
      const red = await createPortalPatient(t, { accessEnabled: false, lastName: 'Walkred' });
      const gray = await createPortalPatient(t, { lastName: 'Walkgray' });
      const active = await createActivatedPatient(t, 'a patient passphrase long enough', { lastName: 'Walkactive' });
      const session: WalkSession = {
        agent: await signIn(t, admin.email, admin.password),
        password: admin.password,
        signedIn: async () => (await session.agent.get('/account/password')).status === 200,
        signInAgain: async (password) => {
          // A walked policy form may have required a second factor of every staff member: undo it first.
          await t.app.get(SecondFactorService).setPolicy(false, SYSTEM_CONTEXT);
          return signIn(t, admin.email, password);
        },
      };
      const dashboards = [red, gray, active].flatMap(({ id }) => [
        `/patients/${id}?tab=details`,
        `/patients/${id}?tab=details&edit=details`,
        `/patients/${id}?tab=portal`,
      ]);
      const pages = [
        ...staffPageRoutes(t)
          .map((route) => route.path)
          .filter((path) => !/\/1(\/|$)/.test(path)),
        `/admin/users/${colleague.id}/disable`,
        '/portal-onboarding?access=yes',
        ...dashboards,
      ];
      // The walker's own account: resetting or disabling oneself is refused elsewhere, and would end the walk.
      const own = new RegExp(`^/admin/users/${admin.id}/`);
      const { outcomes, failures } = await walk(pages, session, (submission) => own.test(submission.action));

      expect(failures).toEqual([]);
      const redirected = new Set(outcomes.filter((o) => o.answer.startsWith('303')).map((o) => o.form.split(' ')[0]));
      expect([...redirected]).toEqual(
        expect.arrayContaining([
          '/admin/users',
          `/admin/users/${colleague.id}/role`,
          `/admin/users/${colleague.id}/disabled`,
          `/admin/users/${colleague.id}/reset-password`,
          '/admin/security/patients',
          '/admin/email-changes/policy',
          '/admin/reminders',
          '/account/password',
          `/patients/${red.id}/details`,
          `/patients/${gray.id}/email`,
          `/patients/${gray.id}/portal/disable`,
          `/patients/${active.id}/portal/username`,
          '/portal-onboarding/bulk/enable',
          '/portal-onboarding/bulk/invite/preview',
          `/portal-onboarding/patients/${red.id}/enable`,
          '/admin/import',
          '/portal-onboarding/letters/preview',
          '/logout',
        ]),
      );
      expect(outcomes.length).toBeGreaterThan(25);
      // The walk required a second step of patients (Admin → Security); the next test signs one in.
      await t.app.get(SecondFactorService).setPortalPolicy(false, SYSTEM_CONTEXT);
    },
    WALK_TIMEOUT,
  );

  it(
    'patients: the portal pages of a signed-in patient',
    async () => {
      const password = 'a patient passphrase long enough';
      await t.app.get(SecondFactorService).setPortalPolicy(false, SYSTEM_CONTEXT);
      const patient = await createActivatedPatient(t, password, { lastName: 'Walkportal' });
      const signInPatient = async (current: string) => {
        const agent = request.agent(t.server);
        const login = await agent.get('/portal/login').expect(200);
        const res = await agent
          .post('/portal/login')
          .type('form')
          .send({ _csrf: csrfTokenOf(login.text), username: patient.username, password: current });
        if (res.status !== 303) throw new Error(`portal sign-in answered ${res.status}`);
        return agent;
      };
      const session: WalkSession = {
        agent: await signInPatient(password),
        password,
        signedIn: async () => (await session.agent.get('/portal/account')).status === 200,
        signInAgain: signInPatient,
      };
      const pages = registeredRoutes(t)
        .filter((route) => route.method === 'GET' && isPortalRoute(route) && !isPortalPublicRoute(route))
        .map((route) => route.path)
        .filter((path) => !/\/1(\/|$)/.test(path));
      expect(pages).toEqual(expect.arrayContaining(['/portal', '/portal/account']));
      const { outcomes, failures } = await walk(pages, session, () => false);

      expect(failures).toEqual([]);
      const redirected = new Set(outcomes.filter((o) => o.answer.startsWith('303')).map((o) => o.form.split(' ')[0]));
      expect([...redirected]).toEqual(expect.arrayContaining(['/portal/logout', '/portal/account/password']));
    },
    WALK_TIMEOUT,
  );
});
