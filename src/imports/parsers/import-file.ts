import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ParsedItem } from '../import-records';
import { parseCsv } from './csv-import.parser';
import { parseBundle, parseNdjson, type FhirReadOptions, type IgnoredItem } from './fhir-import.parser';
import { ImportFileError } from './import-file-error';
import { message } from '../../i18n/messages';

export type ImportFormat = 'csv' | 'fhir-bundle' | 'fhir-ndjson';

export const FORMAT_LABELS: Record<ImportFormat, string> = {
  csv: 'CSV',
  'fhir-bundle': 'FHIR R4 Bundle (JSON)',
  'fhir-ndjson': 'FHIR R4 NDJSON',
};

/** File names the upload accepts; the content is checked as well (see detectFormat). */
export const ACCEPTED_EXTENSIONS = ['.csv', '.txt', '.json', '.ndjson', '.jsonl'];

const SAMPLE_BYTES = 64 * 1024;

/**
 * Decides the format from the first 64 KB, refusing anything that is not UTF-8 text
 * (a spreadsheet, a PDF or an image renamed to .csv gets a clear message, not 10,000 bad rows).
 */
export async function detectFormat(path: string, fileName: string): Promise<ImportFormat> {
  const extension = extname(fileName).toLowerCase();
  if (!ACCEPTED_EXTENSIONS.includes(extension)) throw new ImportFileError(unsupportedMessage(fileName));
  const handle = await open(path, 'r');
  let sample: Buffer;
  try {
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SAMPLE_BYTES, 0);
    sample = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (!isText(sample)) throw new ImportFileError(message('staff:imports.fileProblem.notText', { file: fileName }));
  const text = sample
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text === '') throw new ImportFileError(message('staff:imports.fileProblem.empty', { file: fileName }));
  if (text.startsWith('{') || text.startsWith('[')) {
    if (extension === '.ndjson' || extension === '.jsonl') return 'fhir-ndjson';
    const newline = text.indexOf('\n');
    if (newline > 0) {
      try {
        const first = JSON.parse(text.slice(0, newline)) as { resourceType?: unknown };
        if (first && first.resourceType !== 'Bundle') return 'fhir-ndjson';
      } catch {
        // A pretty-printed document: its first line alone is not JSON.
      }
    }
    return 'fhir-bundle';
  }
  if (extension !== '.csv' && extension !== '.txt')
    throw new ImportFileError(message('staff:imports.fileProblem.namedJson', { file: fileName }));
  return 'csv';
}

export function unsupportedMessage(fileName: string): string {
  return message('staff:imports.fileProblem.unsupported', { file: fileName.slice(0, 100) });
}

/** No NUL bytes and valid UTF-8 (a multi-byte character cut at the end of the sample is fine). */
function isText(sample: Buffer): boolean {
  if (sample.includes(0)) return false;
  let end = sample.length;
  // Step back over at most 3 bytes of a possibly cut last character.
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const byte = sample[end - back];
    if ((byte & 0xc0) !== 0x80) {
      if (byte >= 0xc0) end -= back;
      break;
    }
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/** Streams the records of a file (a fresh read each call: the pipeline reads the file more than once). */
export function readRecords(
  path: string,
  format: ImportFormat,
  options: FhirReadOptions = {},
  onIgnoredColumns?: (columns: string[]) => void,
): AsyncGenerator<ParsedItem | IgnoredItem> {
  const stream = createReadStream(path, { encoding: format === 'fhir-bundle' ? 'utf8' : undefined, highWaterMark: 256 * 1024 });
  if (format === 'csv') return parseCsv(stream, onIgnoredColumns);
  if (format === 'fhir-ndjson') return parseNdjson(stream, options);
  return parseBundle(stream, options);
}
