import { parse, type CsvError, type Parser } from 'csv-parse';
import type { Readable } from 'node:stream';
import { importProblem } from '../import-records';

/**
 * CSV records (RFC 4180) read by csv-parse, streamed. Unlike csv-parse's default, which
 * stops at the first malformed quote, a broken record becomes one bad row with its line
 * and the reason, and reading goes on, so a stray quote is reported like any other bad row:
 * - `relax_quotes` keeps a record with a stray quote; `cast` (which knows whether a cell was
 *   quoted) and the record's `raw` text tell which cell and how, and the row is rejected here;
 * - `skip_records_with_error` + `on_skip` turn what cannot be read (a quote never closed)
 *   into a bad row, pushed into the parser's output so it keeps its place among the records.
 * Line numbers are counted from `raw` (csv-parse's `info.lines` drifts after blank CRLF lines). An error is a message key
 * (staff.json imports.problem.*), or csv-parse's own English for what it alone can name.
 */
export type CsvRecord = { cells: string[]; line: number } | { error: string; line: number };

/** A record longer than this is not a patient row. */
export const MAX_RECORD_CHARS = 64 * 1024;

/** A cell with a double quote in it, as csv-parse read it: checked against the raw record. */
class QuotedCell {
  constructor(
    readonly value: string,
    readonly quoted: boolean,
    readonly index: number,
  ) {}
}

type Entry = { record: Array<string | QuotedCell>; raw: string } | { skipped: CsvError | undefined; raw: string | undefined };

const LINE_BREAK = /\r\n|\r|\n/g;
const breaks = (text: string) => text.match(LINE_BREAK)?.length ?? 0;
const leadingBreaks = (text: string) => breaks(/^(?:\r\n|\r|\n)*/.exec(text)![0]);

export async function* readCsvRecords(input: Readable): AsyncGenerator<CsvRecord> {
  const parser: Parser = parse({
    bom: true,
    raw: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    cast: (value, context) => (value.includes('"') ? new QuotedCell(value, context.quoting, context.index) : value),
    on_skip: (error, raw) => {
      parser.push({ skipped: error, raw } satisfies Entry);
      return undefined;
    },
  });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  /** Line breaks read so far: the next record starts on the line after them. */
  let consumed = 0;
  for await (const entry of parser as AsyncIterable<Entry>) {
    const raw = entry.raw ?? '';
    const line = consumed + 1 + leadingBreaks(raw);
    consumed += breaks(raw);
    if ('skipped' in entry) {
      yield { error: skipReason(entry.skipped, raw, line), line };
      continue;
    }
    if (raw.length > MAX_RECORD_CHARS) {
      yield { error: importProblem('rowTooLong', { size: MAX_RECORD_CHARS / 1024 }), line };
      continue;
    }
    const stray = entry.record.find((cell): cell is QuotedCell => cell instanceof QuotedCell && strayQuote(cell, raw) !== null);
    if (stray) {
      yield { error: strayQuote(stray, raw)!, line };
      continue;
    }
    yield { cells: entry.record.map((cell) => (cell instanceof QuotedCell ? cell.value : cell)), line };
  }
}

/** Why a cell holding a double quote is not a well-formed CSV cell, or null when it is one. */
function strayQuote(cell: QuotedCell, raw: string): string | null {
  const n = cell.index + 1;
  if (!cell.quoted) return importProblem('strayQuote', { cell: n });
  // A well-formed quoted cell appears in the raw record as "…" with its quotes doubled; relax_quotes
  // also lets through "Ann"x (text after the closing quote), whose value then starts with the quote.
  if (raw.includes(`"${cell.value.replace(/"/g, '""')}"`)) return null;
  return importProblem('textAfterQuote', { cell: n });
}

function skipReason(error: CsvError | undefined, raw: string, line: number): string {
  if (error?.code === 'CSV_QUOTE_NOT_CLOSED') {
    const content = raw.replace(/^(?:\r\n|\r|\n)+/, '').replace(/(?:\r\n|\r|\n)$/, '');
    const last = line + breaks(content);
    const cell = openingCell(content);
    return last > line
      ? importProblem('quoteNotClosedLines', { cell, from: line, to: last })
      : importProblem('quoteNotClosed', { cell, line });
  }
  if (!error) return importProblem('unreadable');
  return error.message.replace(/\s+at line \d+.*$/s, '').slice(0, 200);
}

/** Which cell of the record opens the quote that never closes (cells before it may be quoted too). */
function openingCell(text: string): number {
  let cell = 1;
  let inQuotes = false;
  let opened = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      if (!inQuotes && (i === 0 || text[i - 1] === ',')) opened = cell;
      inQuotes = !inQuotes;
    } else if (c === ',' && !inQuotes) cell++;
  }
  return opened;
}
