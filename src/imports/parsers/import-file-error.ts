/** The file as a whole cannot be imported (wrong type, no header, broken JSON): nothing is applied. */
export class ImportFileError extends Error {}
