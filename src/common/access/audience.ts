import { applyDecorators, Controller, SetMetadata } from '@nestjs/common';

/** Who a route serves. Staff routes are the default; patient routes live under /portal. */
export type Audience = 'staff' | 'patient';
export const AUDIENCE = 'audience';
export const PORTAL_PUBLIC = 'portalPublic';

/**
 * A controller of the patient side, mounted under /portal. The staff guard stands aside for
 * its routes and the patient guard (src/portal/patient-session.ts) decides instead: every route
 * needs a signed-in patient unless marked @PortalPublic(). The prefix and the audience come
 * together so a /portal route cannot forget its guard.
 */
export const PatientController = (subPath = '') =>
  applyDecorators(Controller(subPath ? `portal/${subPath}` : 'portal'), SetMetadata(AUDIENCE, 'patient' satisfies Audience));

/** Opens a patient-side route to visitors without a patient session (sign-in, forgot password, emailed links). */
export const PortalPublic = () => SetMetadata(PORTAL_PUBLIC, true);
