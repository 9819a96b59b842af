import { FormValidationException } from '../../src/common/validation/form-validation.exception';
import { normalisePhone } from '../../src/patients/phone-number';
import { translateMessage } from '../../src/i18n/messages';

describe('a phone number typed on the dashboard', () => {
  it.each([
    ['  (555)  010.0199 ', '(555) 010 0199'],
    ['+44 20 7946 0958', '+44 20 7946 0958'],
    ['555 - 0100 - 12', '555-0100-12'],
    ['５５５１２３４５６７', '5551234567'],
    ['', null],
    ['   ', null],
  ])('%j is stored as %j', (typed, stored) => {
    expect(normalisePhone(typed)).toBe(stored);
  });

  it.each(['call me', '12345', '+1 555 0100 ext. 7', '1234567890123456', '55+5 0100 000', '<b>5550100</b>'])(
    '%j is refused with a message in words',
    (typed) => {
      expect(() => normalisePhone(typed)).toThrow(FormValidationException);
      try {
        normalisePhone(typed);
      } catch (error) {
        expect(translateMessage('en', (error as FormValidationException).fieldErrors.phone[0])).toMatch(
          /^Enter a phone number of 7 to 15 digits/,
        );
      }
    },
  );
});
