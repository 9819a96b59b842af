import { message, translateMessage } from '../../src/i18n/messages';
import { checkNewPassword } from '../../src/auth/passwords/password-policy';
import { checkUsername } from '../../src/portal-access/usernames';

describe('form messages kept as keys until rendered', () => {
  it('a key with values is one string, written out in the reader’s language', () => {
    const text = message('messages:password.tooShort', { min: 15 });
    expect(text).toBe('messages:password.tooShort?min=15');
    expect(translateMessage('en', text)).toBe('Use at least 15 characters (a few unrelated words make a good one).');
    expect(translateMessage('es', text)).toBe(
      'Use al menos 15 caracteres (unas cuantas palabras sin relación entre sí funcionan bien).',
    );
    // A region falls back to its language, an unknown language to English.
    expect(translateMessage('es-MX', text)).toContain('Use al menos 15');
    expect(translateMessage('fr', text)).toContain('Use at least 15');
  });

  it('chooses plural forms by a numeric count', () => {
    expect(translateMessage('en', message('messages:done.signedOutOthers', { count: 1 }))).toBe('Signed out 1 other session.');
    expect(translateMessage('en', message('messages:done.signedOutOthers', { count: 3 }))).toBe('Signed out 3 other sessions.');
    expect(translateMessage('es', message('messages:done.signedOutOthers', { count: 3 }))).toBe('Se cerraron 3 sesiones más.');
  });

  it('writes a value that is itself a message in the same language, and keeps a number-like id as written', () => {
    const where = message('staff:imports.at.line', { line: 3 });
    const reason = message('staff:imports.problem.alsoOn', {
      problem: message('staff:imports.problem.duplicateExternalId', { id: '007' }),
      where,
    });
    expect(translateMessage('en', reason)).toBe('duplicate external id 007 in the file (also on line 3)');
    expect(translateMessage('es', reason)).toBe('identificador externo 007 repetido en el archivo (también en línea 3)');
    expect(
      translateMessage('es', message('staff:imports.problem.missing', { field: 'staff:form.addressPart.addressCity' })),
    ).toBe('falta la ciudad');
    // A value that only looks like a key stays as written.
    expect(translateMessage('en', message('staff:imports.problem.unknownPatient', { patient: 'staff:no.such' }))).toBe(
      'unknown patient staff:no.such',
    );
  });

  it('leaves any other text as written: a sentence, a key no file has, a lookalike of another namespace', () => {
    expect(translateMessage('es', 'That email and password did not work.')).toBe('That email and password did not work.');
    expect(translateMessage('es', 'messages:no.such.key')).toBe('messages:no.such.key');
    expect(translateMessage('es', 'emails:invite.subject')).toBe('emails:invite.subject');
    expect(translateMessage('es', 'messages:password.tooShort and more')).toBe('messages:password.tooShort and more');
  });

  it('the password and username rules answer with keys every language has', () => {
    const problems = [
      ...checkNewPassword('short'),
      ...checkNewPassword('passwordpasswordpassword'),
      ...checkNewPassword('Jane Doe Jane Doe 1990', ['Jane Doe']),
      (checkUsername('a') as { problem: string }).problem,
      (checkUsername('has space') as { problem: string }).problem,
    ];
    expect(problems).toHaveLength(5);
    for (const problem of problems) {
      expect(problem).toMatch(/^messages:/);
      for (const language of ['en', 'es']) expect(translateMessage(language, problem)).not.toMatch(/^messages:/);
    }
    expect(translateMessage('es', problems[3])).toBe('Use de 3 a 64 caracteres.');
  });
});
