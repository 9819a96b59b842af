import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type request from 'supertest';

/** Reads QR codes from a PNG as a phone would: Debian's zbarimg (zbar-tools). One decoded text per code found. */
export function readQrCodes(png: Buffer): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'qr-'));
  try {
    const file = join(dir, 'image.png');
    writeFileSync(file, png);
    try {
      return execFileSync('zbarimg', ['--quiet', '--raw', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch (error) {
      // zbarimg exits 4 when the image holds no code.
      if ((error as { status?: number }).status === 4) return [];
      throw error;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The QR code of a `data:image/png;base64,…` image, decoded. */
export function readQrFromDataUrl(dataUrl: string): string {
  const [text] = readQrCodes(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return text;
}

/** A PDF's pages as PNGs (Debian's pdftoppm, poppler-utils), in page order. */
export function pdfPagesAsPng(pdf: Buffer, dpi = 110): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'pdf-'));
  try {
    const file = join(dir, 'doc.pdf');
    writeFileSync(file, pdf);
    execFileSync('pdftoppm', ['-r', String(dpi), '-png', file, join(dir, 'page')]);
    return readdirSync(dir)
      .filter((name) => name.endsWith('.png'))
      .sort()
      .map((name) => readFileSync(join(dir, name)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A supertest parser that keeps a binary answer (the PDF) as a Buffer: `.buffer(true).parse(binaryBody)`. */
export function binaryBody(res: request.Response, callback: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
}
