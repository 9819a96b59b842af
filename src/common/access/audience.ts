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

export const REPRESENTATIVES_TOO = 'representativesToo';

/**
 * Lets a signed-in authorised representative (their own portal account) reach this patient-side
 * route too; every other patient route stays closed to them (deny by default).
 */
export const RepresentativesToo = () => SetMetadata(REPRESENTATIVES_TOO, true);

/** Opens a patient-side route to visitors without a patient session (sign-in, forgot password, emailed links). */
export const PortalPublic = () => SetMetadata(PORTAL_PUBLIC, true);
