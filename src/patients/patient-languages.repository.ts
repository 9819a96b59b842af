import type { EntityManager } from 'typeorm';

/**
 * Reads of patients.preferred_language for the modules that write to a patient (emails, portal pages).
 * A small seam of its own; it belongs with the rest of the patients table's SQL in patients.repository.ts.
 */
export async function preferredLanguageOf(db: EntityManager, patientId: number): Promise<string | null> {
  const rows: Array<{ preferred_language: string | null }> = await db.query(
    'SELECT preferred_language FROM patients WHERE id = ?',
    [patientId],
  );
  return rows[0]?.preferred_language ?? null;
}
