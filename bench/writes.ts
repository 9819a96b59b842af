import { randomBytes } from 'node:crypto';
import type { BenchDb as Pool } from './bench-db';
import { createTransport } from 'nodemailer';
import type { AppConfig } from '../src/config/app-config';
import { InviteEmailRenderer } from '../src/invitations/invite-email.renderer';
import { mailerOptions } from '../src/invitations/mail/mail-transport';
import { httpLoad, timeOnce, type Latency } from './measure';
import type { SmtpSink } from './smtp-sink';
import type { StaffSession } from './staff-session';

const htmx = (session: StaffSession) => ({ cookie: session.cookie, 'HX-Request': 'true', 'X-CSRF-Token': session.csrf });

/** Clicking red blocks: each request enables a different red patient (warm-up ids first, not measured). */
export async function oneClickEnable(
  pool: Pool,
  baseUrl: string,
  session: StaffSession,
  warmup: number,
  measured: number,
): Promise<Latency> {
  const [rows] = (await pool.query(
    'SELECT patient_id AS id FROM portal_accounts WHERE access_enabled = 0 ORDER BY patient_id LIMIT ?',
    [warmup + measured],
  )) as [{ id: number }[], unknown];
  const ids = rows.map((row) => Number(row.id));
  if (ids.length < warmup + measured) throw new Error(`only ${ids.length} red patients for the one-click run`);
  const load = (list: number[]) => {
    let next = 0;
    return httpLoad({
      url: `${baseUrl}/portal-onboarding/patients/${list[0]}/enable`,
      method: 'POST',
      headers: htmx(session),
      amount: list.length,
      setupRequest: (request) => ({ ...request, path: `/portal-onboarding/patients/${list[next++]}/enable` }),
    });
  };
  await load(ids.slice(0, warmup));
  const latency = await load(ids.slice(warmup));
  const [[{ n }]] = (await pool.query(
    `SELECT COUNT(*) AS n FROM portal_accounts WHERE access_enabled = 1 AND patient_id IN (${ids.map(() => '?').join(',')})`,
    ids,
  )) as [{ n: number }[], unknown];
  if (Number(n) !== ids.length) throw new Error(`one-click: ${n} of ${ids.length} patients enabled`);
  return latency;
}

export const BULK = 10_000;

/**
 * The bulk set: up to 10,000 patients with an email, tagged "Bench bulk" so staff can
 * filter them and use "Select all matching this filter". Set back to red (no username,
 * never invited) before each run — setup, not measured.
 */
export async function prepareBulkSet(pool: Pool): Promise<{ tagId: number; size: number }> {
  await pool.query("INSERT INTO tags (name, created_at) VALUES ('Bench bulk', UTC_TIMESTAMP())");
  const [[tag]] = (await pool.query("SELECT id FROM tags WHERE name = 'Bench bulk'")) as [{ id: number }[], unknown];
  await pool.query(
    `INSERT INTO patient_tags (patient_id, tag_id)
     SELECT p.id, ? FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.email IS NOT NULL ORDER BY pa.access_enabled, p.id DESC LIMIT ${BULK}`,
    [tag.id],
  );
  const [[{ n }]] = (await pool.query('SELECT COUNT(*) AS n FROM patient_tags WHERE tag_id = ?', [tag.id])) as [
    { n: number }[],
    unknown,
  ];
  return { tagId: Number(tag.id), size: Number(n) };
}

export async function resetBulkSet(pool: Pool, tagId: number): Promise<void> {
  await pool.query(
    // One spelling for MariaDB and SQLite (no UPDATE … JOIN on SQLite).
    `UPDATE portal_accounts
        SET access_enabled = 0, enabled_at = NULL, enabled_by_staff_id = NULL, invited_at = NULL,
            first_login_at = NULL, last_login_at = NULL, username = NULL, username_key = NULL
      WHERE patient_id IN (SELECT patient_id FROM patient_tags WHERE tag_id = ?)`,
    [tagId],
  );
}

async function postForm(baseUrl: string, path: string, session: StaffSession, form: Record<string, string>): Promise<string> {
  const res = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { ...htmx(session), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status}\n${text.slice(0, 500)}`);
  return text;
}

/** "Select all matching" (tag "Bench bulk", status red) → Enable Portal Access; wall time of the request. */
export async function bulkEnable(
  pool: Pool,
  baseUrl: string,
  session: StaffSession,
  bulk: { tagId: number; size: number },
  runs: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await resetBulkSet(pool, bulk.tagId);
    const { ms, value } = await timeOnce(() =>
      postForm(baseUrl, '/portal-onboarding/bulk/enable', session, { scope: 'filter', tag: String(bulk.tagId), status: 'red' }),
    );
    if (!value.includes(`Portal access enabled for ${bulk.size} patients`))
      throw new Error(`bulk enable answered: ${value.slice(0, 300)}`);
    times.push(ms);
  }
  return times;
}

export interface Delivery {
  queuedMs: number;
  deliveredMs: number;
  /** Messages per second between the first and the last arrival. */
  rate: number;
  bytes: number;
}

/** "Send Portal Invites" to the whole set: time until the answer (queued), then until the sink has them all. */
export async function bulkInvite(
  baseUrl: string,
  session: StaffSession,
  bulk: { tagId: number; size: number },
  sink: SmtpSink,
): Promise<Delivery> {
  await sink.reset();
  const start = Date.now();
  const { ms, value } = await timeOnce(() =>
    postForm(baseUrl, '/portal-onboarding/bulk/invite', session, { scope: 'filter', tag: String(bulk.tagId) }),
  );
  const summary = /class="bulk-summary">([^<]*)</.exec(value)?.[1] ?? value.slice(0, 600);
  // Patients under the self-access age are skipped (invited through a representative instead).
  const queued = Number(/^(\d+) invites were queued for sending/.exec(summary)?.[1] ?? 0);
  if (queued === 0) throw new Error(`bulk invite of ${bulk.size} answered: ${summary}`);
  const arrival = await sink.waitFor(queued, 120_000);
  return {
    queuedMs: ms,
    deliveredMs: arrival.last - start,
    rate: ((arrival.count - 1) * 1000) / Math.max(1, arrival.last - arrival.first),
    bytes: arrival.bytes / arrival.count,
  };
}

/**
 * The limit for the mail path: nodemailer alone, with the app's own transport options
 * (pool size, maxMessages, TCP_NODELAY socket, STARTTLS), sending the same rendered
 * emails to the same addresses and server. No database, no outbox.
 */
export async function rawNodemailer(
  pool: Pool,
  config: AppConfig,
  ca: string,
  bulk: { tagId: number },
  sink: SmtpSink,
): Promise<Delivery> {
  const [patients] = (await pool.query(
    'SELECT p.id, p.first_name, p.email FROM patients p JOIN patient_tags pt ON pt.patient_id = p.id AND pt.tag_id = ? ORDER BY p.id',
    [bulk.tagId],
  )) as [{ id: number; first_name: string; email: string }[], unknown];
  const renderer = new InviteEmailRenderer(config);
  const host = new URL(config.publicBaseUrl).hostname;
  const options = mailerOptions(config);
  const transport = createTransport({ ...(options.transport as object), tls: { ca } } as never, options.defaults as never);
  await sink.reset();
  const start = Date.now();
  await Promise.all(
    patients.map((patient) => {
      const email = renderer.render('invite', patient.first_name, randomBytes(32).toString('base64url'));
      return transport.sendMail({
        to: patient.email,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId: `<raw-${patient.id}@${host}>`,
      });
    }),
  );
  const arrival = await sink.waitFor(patients.length, 120_000);
  transport.close();
  return {
    queuedMs: 0,
    deliveredMs: arrival.last - start,
    rate: ((arrival.count - 1) * 1000) / Math.max(1, arrival.last - arrival.first),
    bytes: arrival.bytes / arrival.count,
  };
}
