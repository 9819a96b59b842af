import type { Writable } from 'node:stream';
import PDFDocument from 'pdfkit';
import { toBuffer } from 'qrcode';
import type { PrintedLetter } from './activation-letters.service';

const INCH = 72;
/**
 * Where the recipient's address goes on US Letter folded in thirds for a #10 window envelope:
 * the window sits about 7/8 in from the left and 2 in down from the top of the sheet, 4 in × 1⅛ in.
 */
export const ADDRESS_WINDOW = { x: 0.875 * INCH, y: 2 * INCH, width: 4 * INCH, height: 1.125 * INCH };

/**
 * Writes one page per letter to `out` as it goes (pdfkit streams finished pages), so 1,000
 * letters never sit in memory as one PDF and nothing is kept on disk.
 */
export async function writeLettersPdf(letters: PrintedLetter[], clinicName: string, out: Writable): Promise<void> {
  const doc = new PDFDocument({ size: 'LETTER', margin: INCH, autoFirstPage: false, info: { Title: 'Activation letters' } });
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
    doc.on('error', reject);
  });
  doc.pipe(out);
  for (const letter of letters) {
    doc.addPage();
    doc
      .font('Helvetica-Bold')
      .fontSize(16)
      .text(clinicName, INCH, 0.75 * INCH);
    doc.font('Helvetica').fontSize(11);
    doc.text([letter.name, ...letter.addressLines].join('\n'), ADDRESS_WINDOW.x, ADDRESS_WINDOW.y, {
      width: ADDRESS_WINDOW.width,
      height: ADDRESS_WINDOW.height,
    });
    const expires = letter.expiresAt.toISOString().slice(0, 10);
    const top = 3.75 * INCH;
    doc.font('Helvetica-Bold').fontSize(14).text('Set up your Patient Portal account', INCH, top);
    doc.font('Helvetica').fontSize(11).moveDown(0.5);
    doc.text(`Dear ${letter.name},`, { width: 3.9 * INCH }).moveDown(0.5);
    doc.text(
      `${clinicName} invites you to its Patient Portal. To set up your account:\n\n` +
        '1. Scan the square code on the right with your phone camera, or go to the address below and type your activation code.\n' +
        '2. Confirm your date of birth.\n' +
        '3. Choose a username and a password.\n\n' +
        `The code works once, until ${expires}. If you did not expect this letter, call the clinic.`,
      { width: 3.9 * INCH },
    );
    doc.moveDown(1);
    doc.text(letter.url.replace(/\/[^/]+$/, ''), { width: 3.9 * INCH });
    doc
      .font('Helvetica-Bold')
      .fontSize(20)
      .text(letter.code, { width: 3.9 * INCH, characterSpacing: 2 });
    const qr = await toBuffer(letter.url, { errorCorrectionLevel: 'M', margin: 2, scale: 4 });
    doc.image(qr, 5.2 * INCH, top, { width: 2.3 * INCH });
  }
  if (!letters.length) doc.addPage().font('Helvetica').fontSize(11).text('No letters in this batch.');
  doc.end();
  await done;
}
