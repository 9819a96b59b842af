import request from 'supertest';
import { SYSTEM_CONTEXT } from '../../src/audit/audit-context';
import { StaffRole } from '../../src/auth/entities/staff-user.entity';
import { StaffUsersService } from '../../src/auth/staff-users.service';
import { csrfTokenOf } from './html';
import type { TestApp } from './test-app';

export const STAFF_PASSWORD = 'correct horse battery staple orbit';

let counter = 0;

/** A staff user who has already chosen their own password (STAFF_PASSWORD). */
export async function createStaffUser(
  t: TestApp,
  role: StaffRole = 'staff',
  name = 'Sam Staff',
): Promise<{ id: number; email: string; password: string }> {
  const users = t.app.get(StaffUsersService);
  const email = `${role}${++counter}-${Date.now()}@clinic.test`;
  const { user, temporaryPassword } = await users.create({ email, name, role }, SYSTEM_CONTEXT);
  await users.changeOwnPassword(user.id, temporaryPassword, STAFF_PASSWORD, SYSTEM_CONTEXT);
  return { id: user.id, email, password: STAFF_PASSWORD };
}

/** A cookie-keeping agent signed in through the real form; `.csrf` is the session's token. */
export async function signIn(t: TestApp, email: string, password: string): Promise<request.Agent & { csrf: string }> {
  const agent = request.agent(t.server) as request.Agent & { csrf: string };
  const page = await agent.get('/login').expect(200);
  const res = await agent
    .post('/login')
    .type('form')
    .send({ _csrf: csrfTokenOf(page.text), email, password });
  if (res.status !== 303) throw new Error(`sign-in failed with ${res.status}`);
  const after = await agent.get('/account/password').expect(200);
  agent.csrf = csrfTokenOf(after.text);
  return agent;
}

export async function signInAs(
  t: TestApp,
  role: StaffRole = 'staff',
): Promise<request.Agent & { csrf: string; user: { id: number; email: string } }> {
  const user = await createStaffUser(t, role);
  const agent = (await signIn(t, user.email, user.password)) as request.Agent & {
    csrf: string;
    user: { id: number; email: string };
  };
  agent.user = user;
  return agent;
}
