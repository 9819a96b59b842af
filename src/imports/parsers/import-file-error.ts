import { translateMessage } from '../../i18n/messages';
import { SOURCE_LANGUAGE } from '../../i18n/translations';

/**
 * The file as a whole cannot be imported (wrong type, no header, broken JSON): nothing is applied. `text` is a message
 * key (staff.json imports.fileProblem.*), shown in the staff language; the Error's own message is its English, for logs.
 */
export class ImportFileError extends Error {
  constructor(readonly text: string) {
    super(translateMessage(SOURCE_LANGUAGE, text));
  }
}
