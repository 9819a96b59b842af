/**
 * Splits CSV text (RFC 4180: comma-separated, double-quoted cells, "" for a quote inside
 * one) into records, streamed chunk by chunk. Unlike a parser that stops at the first
 * malformed quote, a broken record becomes one bad row with its line and the reason, and
 * reading goes on at the next line, so a stray quote is reported like any other bad row.
 */
export type CsvRecord = { cells: string[]; line: number } | { error: string; line: number };

/** A record longer than this is not a patient row (and must not grow without bound). */
export const MAX_RECORD_CHARS = 64 * 1024;
/** Where a run of ordinary characters ends, inside and outside quotes. */
const QUOTED_STOP = /["\n]/g;
const UNQUOTED_STOP = /[,\n\r"]/g;

export class CsvRecordReader {
  private cells: string[] = [];
  private cell = '';
  private quoted = false;
  private inQuotes = false;
  /** Just read a quote inside a quoted cell: either its end or the first of "". */
  private afterQuote = false;
  private line = 1;
  private recordLine = 1;
  private recordChars = 0;
  /** Set when the record is broken: the rest of its physical line is skipped. */
  private error: string | null = null;
  private started = false;

  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (let i = 0; i < chunk.length; i++) {
      let c = chunk[i];
      if (!this.started) {
        this.started = true;
        if (c === '\uFEFF') continue;
      }
      if (this.error !== null) {
        if (c === '\n') {
          out.push({ error: this.error, line: this.recordLine });
          this.line++;
          this.reset();
        }
        continue;
      }
      if (++this.recordChars > MAX_RECORD_CHARS) {
        this.fail(`the row is longer than ${MAX_RECORD_CHARS / 1024} KB`);
        if (c === '\n') i--;
        continue;
      }
      if (this.afterQuote) {
        this.afterQuote = false;
        if (c === '"') {
          this.cell += '"';
          this.inQuotes = true;
          continue;
        }
        if (c !== ',' && c !== '\n' && c !== '\r') {
          this.fail(`text after the closing quote of cell ${this.cells.length + 1}: a cell with a double quote in it must be quoted as a whole, with the quote doubled ("")`);
          continue;
        }
      }
      if (this.inQuotes) {
        if (c === '"') {
          this.inQuotes = false;
          this.afterQuote = true;
        } else if (c === '\n') {
          this.cell += c;
          this.line++;
        } else {
          i = this.take(chunk, i, QUOTED_STOP) - 1;
        }
        continue;
      }
      if (c === '\r') {
        // CRLF line ends: the CR is dropped (outside quotes).
        if (chunk[i + 1] === '\n' || i + 1 === chunk.length) continue;
        c = '\n';
      }
      if (c === ',') {
        this.endCell();
      } else if (c === '\n') {
        this.endCell();
        const record = this.cells;
        const line = this.recordLine;
        this.line++;
        this.reset();
        if (!(record.length === 1 && record[0] === '')) out.push({ cells: record, line });
      } else if (c === '"') {
        if (this.cell === '' && !this.quoted) {
          this.quoted = true;
          this.inQuotes = true;
        } else {
          this.fail(`a double quote inside cell ${this.cells.length + 1}, which does not start with one: quote the whole cell and double the quote (""), or remove it`);
        }
      } else {
        i = this.take(chunk, i, UNQUOTED_STOP) - 1;
      }
    }
    return out;
  }

  /** Appends the run of ordinary characters from `from` (at least one) to the cell; returns where it stops. */
  private take(chunk: string, from: number, stop: RegExp): number {
    stop.lastIndex = from + 1;
    const found = stop.exec(chunk);
    const to = Math.min(found ? found.index : chunk.length, from + 1 + MAX_RECORD_CHARS);
    this.cell += chunk.slice(from, to);
    this.recordChars += to - from - 1;
    return to;
  }

  /** The last record (a file need not end with a line break). */
  end(): CsvRecord[] {
    if (this.error !== null) return [{ error: this.error, line: this.recordLine }];
    if (this.inQuotes) {
      const last = this.cell.endsWith('\n') ? this.line - 1 : this.line;
      const lines = last > this.recordLine ? `lines ${this.recordLine}–${last}` : `line ${this.recordLine}`;
      return [{ error: `a quoted cell (cell ${this.cells.length + 1}) opens here and is never closed, so ${lines} could not be read: look for a stray double quote`, line: this.recordLine }];
    }
    if (this.cells.length === 0 && this.cell === '' && !this.quoted) return [];
    this.endCell();
    return [{ cells: this.cells, line: this.recordLine }];
  }

  private endCell(): void {
    this.cells.push(this.cell);
    this.cell = '';
    this.quoted = false;
  }

  private fail(reason: string): void {
    this.error = reason;
  }

  private reset(): void {
    this.cells = [];
    this.cell = '';
    this.quoted = false;
    this.inQuotes = false;
    this.afterQuote = false;
    this.error = null;
    this.recordChars = 0;
    this.recordLine = this.line;
  }
}
