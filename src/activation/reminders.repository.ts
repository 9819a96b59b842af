import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  chunks,
  execute,
  forUpdate,
  fromSqlDate,
  fromSqlDateTime,
  isSqliteManager,
  placeholders,
  toSqlDateTime,
} from '../database/sql';
import { DEFAULT_REMINDER_POLICY, type ReminderPolicy } from './reminder-policy';

/** What canInvite (portal-eligibility.ts) and the reminder rules need about one candidate. */
export interface CandidateRow {
  patientId: number;
  firstName: string;
  email: string | null;
  deceased: boolean;
  dateOfBirth: string;
  accessEnabled: boolean;
  username: string | null;
  bouncedEmail: string | null;
  nextAppointmentAt: Date | null;
  inviteTokenId: number;
  invitedAt: Date;
  invitedAddress: string;
  remindersSent: number;
}

/** reminder_policy and portal_reminders: the only place their SQL lives. */
@Injectable()
export class RemindersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async policy(db: EntityManager = this.dataSource.manager): Promise<ReminderPolicy> {
    const [row]: Array<Record<string, unknown>> = await db.query('SELECT * FROM reminder_policy WHERE id = 1');
    if (!row) return DEFAULT_REMINDER_POLICY;
    return {
      enabled: Number(row.enabled) === 1 || row.enabled === true,
      daysAfterInvite: String(row.days_after_invite ?? '')
        .split(',')
        .filter((day) => day.trim() !== '')
        .map(Number),
      daysBeforeAppointment: Number(row.days_before_appointment),
      maxPerPatient: Number(row.max_per_patient),
      allowedFromHour: Number(row.allowed_from_hour),
      allowedUntilHour: Number(row.allowed_until_hour),
      updatedAt: fromSqlDateTime(row.updated_at as string | Date | null),
    };
  }

  async savePolicy(
    policy: Omit<ReminderPolicy, 'updatedAt'>,
    staffId: number | null,
    now: Date,
    tx: EntityManager,
  ): Promise<void> {
    await execute(
      tx,
      `UPDATE reminder_policy SET enabled = ?, days_after_invite = ?, days_before_appointment = ?, max_per_patient = ?,
              allowed_from_hour = ?, allowed_until_hour = ?, updated_at = ?, updated_by_staff_id = ? WHERE id = 1`,
      [
        policy.enabled ? 1 : 0,
        policy.daysAfterInvite.join(','),
        policy.daysBeforeAppointment,
        policy.maxPerPatient,
        policy.allowedFromHour,
        policy.allowedUntilHour,
        toSqlDateTime(now),
        staffId,
      ],
    );
  }

  /**
   * Everyone a reminder could go to: access on, invited, no username and no used link (not set up).
   * Each with their latest invite not sent by the scheduler (whose age counts) and reminders so far.
   * Only the patient's own links: a representative's invite (its patient_id is the patient's) neither
   * starts the patient's reminders nor, once used, stops them.
   */
  async candidates(db: EntityManager = this.dataSource.manager): Promise<CandidateRow[]> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT p.id AS patient_id, p.first_name, p.email, p.deceased, p.date_of_birth, p.next_appointment_at,
              pa.access_enabled, pa.username, pa.bounced_email,
              rt.id AS invite_token_id, rt.created_at AS invited_at, rt.sent_to AS invited_address,
              (SELECT COUNT(*) FROM portal_reminders r WHERE r.patient_id = p.id AND r.outcome = 'sent') AS reminders_sent
         FROM portal_accounts pa
         JOIN patients p ON p.id = pa.patient_id
         JOIN portal_tokens rt ON rt.id = (
              SELECT MAX(t.id) FROM portal_tokens t
               WHERE t.patient_id = pa.patient_id AND t.purpose = 'invite' AND (t.issued_by IS NULL OR t.issued_by <> 'reminder')
                 AND t.representative_account_id IS NULL)
        WHERE pa.access_enabled = 1 AND pa.username IS NULL AND pa.first_login_at IS NULL AND pa.invited_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM portal_tokens u WHERE u.patient_id = pa.patient_id AND u.used_at IS NOT NULL
                             AND u.representative_account_id IS NULL)
        ORDER BY p.id`,
    );
    return rows.map((row) => ({
      patientId: Number(row.patient_id),
      firstName: String(row.first_name),
      email: (row.email as string | null) ?? null,
      deceased: Number(row.deceased) === 1 || row.deceased === true,
      dateOfBirth: fromSqlDate(row.date_of_birth as string | Date),
      accessEnabled: true,
      username: null,
      bouncedEmail: (row.bounced_email as string | null) ?? null,
      nextAppointmentAt: fromSqlDateTime(row.next_appointment_at as string | Date | null),
      inviteTokenId: Number(row.invite_token_id),
      invitedAt: fromSqlDateTime(row.invited_at as string | Date)!,
      invitedAddress: String(row.invited_address),
      remindersSent: Number(row.reminders_sent),
    }));
  }

  /** Step keys already claimed, by patient. */
  async claimedSteps(patientIds: number[], db: EntityManager = this.dataSource.manager): Promise<Map<number, Set<string>>> {
    const claimed = new Map<number, Set<string>>();
    for (const chunk of chunks(patientIds)) {
      const rows: Array<{ patient_id: number | string; step_key: string }> = await db.query(
        `SELECT patient_id, step_key FROM portal_reminders WHERE patient_id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const row of rows) {
        const id = Number(row.patient_id);
        if (!claimed.has(id)) claimed.set(id, new Set());
        claimed.get(id)!.add(row.step_key);
      }
    }
    return claimed;
  }

  /**
   * Claims one reminder step inside the caller's transaction; false when another instance holds or
   * held it. The unique (patient_id, step_key) key decides: a second instance's insert waits for the
   * first's commit, then inserts nothing.
   */
  async claim(patientId: number, stepKey: string, claimedBy: string, now: Date, tx: EntityManager): Promise<boolean> {
    // The patient's row first: the invite that follows locks it anyway, and taking it before the insert's
    // foreign-key check (a shared lock on the same row) keeps two instances from deadlocking on it.
    if (forUpdate(tx)) await tx.query(`SELECT id FROM patients WHERE id = ?${forUpdate(tx)}`, [patientId]);
    const ignore = isSqliteManager(tx) ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
    const inserted = await execute(
      tx,
      `${ignore} INTO portal_reminders (patient_id, step_key, claimed_by, claimed_at, outcome) VALUES (?, ?, ?, ?, 'sent')`,
      [patientId, stepKey, claimedBy.slice(0, 64), toSqlDateTime(now)],
    );
    return inserted === 1;
  }

  /** Remembers which link a claimed reminder carried (the tab and the audit trail name it). */
  async setToken(patientId: number, stepKey: string, tokenId: number | null, tx: EntityManager): Promise<void> {
    await execute(tx, 'UPDATE portal_reminders SET portal_token_id = ? WHERE patient_id = ? AND step_key = ?', [
      tokenId,
      patientId,
      stepKey,
    ]);
  }
}
