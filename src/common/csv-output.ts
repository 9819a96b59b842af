import { stringify } from 'csv-stringify';
import type { Response } from 'express';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';

/** The separators spreadsheets use in some locale: a cell holding one is always quoted. */
export const CSV_SEPARATORS = /[,;\t]/;

/**
 * CSV formula injection (OWASP): a cell starting with = + - @ TAB or CR is run as a formula
 * by Excel/LibreOffice/Sheets. Such cells are prefixed with a quote so they stay text — and
 * so is every part after a separator of any common locale (`,` `;` tab) or a line break,
 * because a spreadsheet that splits on `;` makes `Baker;=1+2` two cells, the second a formula.
 */
export function safeCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  // Times arrive formatted in the clinic's zone (ClinicClock); a stray Date still says which zone it is in.
  const text = value instanceof Date ? value.toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : String(value);
  const guarded = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return guarded.replace(/([,;\t\r\n])(?=[=+\-@\t\r])/g, "$1'");
}

/**
 * Streams rows as a CSV download: headers first, then each batch as it is read (memory stays
 * flat for any number of rows). A UTF-8 BOM lets Excel read accented names correctly.
 */
export async function sendCsv(
  res: Response,
  fileName: string,
  header: string[],
  batches: AsyncIterable<unknown[][]>,
): Promise<number> {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const csv = stringify({ bom: true, quoted_match: CSV_SEPARATORS });
  const sent = pipeline(csv, res);
  let count = 0;
  try {
    csv.write(header);
    for await (const batch of batches) {
      for (const row of batch) {
        count++;
        if (!csv.write(row.map(safeCell))) await once(csv, 'drain');
      }
    }
    csv.end();
  } catch (error) {
    // Headers are gone already: cut the download short rather than send a truncated file as complete.
    csv.destroy(error as Error);
    res.destroy();
    throw error;
  }
  await sent;
  return count;
}
