import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ClinicClock } from '../../src/common/time/clinic-time';
import {
  BulkSelectionDto,
  OnboardingPageQueryDto,
  toOnboardingFilter,
  toSelection,
} from '../../src/portal-access/dto/onboarding-filter.dto';
import { translateMessage } from '../../src/i18n/messages';
import { BadRequestException } from '@nestjs/common';

function check<T extends object>(cls: new () => T, plain: Record<string, unknown>): { value: T; messages: string[] } {
  const value = plainToInstance(cls, plain);
  const errors = validateSync(value, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
  });
  // Messages are keys (i18n/messages) until shown: read in English, as a page would show them.
  return { value, messages: errors.flatMap((e) => Object.values(e.constraints ?? {})).map((m) => translateMessage('en', m)) };
}

const utc = new ClinicClock('UTC');

describe('onboarding filter DTO', () => {
  it('accepts every filter, converts ids and sizes and drops "any"', () => {
    const { value, messages } = check(OnboardingPageQueryDto, {
      q: '  Smi ',
      tag: '3',
      provider: '12',
      access: 'yes',
      username: 'any',
      apptBefore: '2027-01-31',
      apptAfter: '2026-12-01',
      status: 'orange',
      sort: 'dob',
      size: '100',
    });
    expect(messages).toEqual([]);
    expect(value).toMatchObject({ q: 'Smi', tag: 3, provider: 12, size: 100 });
    expect(toOnboardingFilter(value, utc)).toEqual({
      q: 'Smi',
      tagId: 3,
      providerId: 12,
      access: 'yes',
      username: undefined,
      apptBefore: '2027-01-31',
      apptAfter: '2026-12-01',
      status: 'orange',
      apptBeforeUtc: '2027-01-31 00:00:00',
      apptAfterUtc: '2026-12-02 00:00:00',
    });
  });

  it('treats empty form fields as "no filter"', () => {
    const { value, messages } = check(OnboardingPageQueryDto, {
      q: '',
      tag: '',
      provider: '',
      access: '',
      apptBefore: '',
      status: '',
      sort: '',
      size: '',
    });
    expect(messages).toEqual([]);
    expect(toOnboardingFilter(value, utc)).toEqual({});
  });

  it.each([
    ['a one-letter search', { q: 'a' }, 'Name search needs 2 to 100 characters.'],
    ['a control character', { q: 'ab\u0000' }, 'Name search contains characters that are not allowed.'],
    ['a repeated parameter', { q: ['ab', 'cd'] }, 'Name search must be text.'],
    ['a tag that is not an id', { tag: '1 OR 1=1' }, 'Tag must be chosen from the list.'],
    ['a negative provider', { provider: '-1' }, 'Primary provider must be chosen from the list.'],
    ['an unknown access choice', { access: 'maybe' }, 'Access enabled must be one of: any, yes, no.'],
    [
      'an unknown status',
      { status: 'purple' },
      'Status must be one of: red, gray, orange, green, orange-expired, orange-failed.',
    ],
    ['an impossible date', { apptBefore: '2026-02-30' }, 'apptBefore must be a date written as YYYY-MM-DD.'],
    ['SQL in the sort', { sort: 'name;DROP TABLE x' }, 'Sort must be one of: name, dob, next.'],
    ['a huge page size', { size: '100000' }, 'Page size must be one of: 25, 50, 100.'],
    ['a cursor with odd characters', { after: "x' OR 1" }, 'The page link is not valid.'],
  ])('refuses %s with a clear message', (_what, plain, message) => {
    expect(check(OnboardingPageQueryDto, plain).messages).toEqual([message]);
  });

  it('refuses unknown fields (mass assignment)', () => {
    expect(check(OnboardingPageQueryDto, { accessEnabled: '1' }).messages).toEqual(['property accessEnabled should not exist']);
  });
});

describe('bulk selection DTO', () => {
  it('reads one or many checked ids', () => {
    expect(toSelection(check(BulkSelectionDto, { ids: '7' }).value, utc)).toEqual({ scope: 'ids', ids: [7] });
    expect(toSelection(check(BulkSelectionDto, { ids: ['7', '9'], status: 'red' }).value, utc)).toEqual({
      scope: 'ids',
      ids: [7, 9],
    });
  });

  it('sends the filter instead of ids for "all matching"', () => {
    expect(toSelection(check(BulkSelectionDto, { scope: 'filter', status: 'red', tag: '2', ids: ['1'] }).value, utc)).toEqual({
      scope: 'filter',
      filter: expect.objectContaining({ status: 'red', tagId: 2 }),
    });
  });

  it('caps an explicit id list at 500 and refuses ids that are not numbers', () => {
    expect(check(BulkSelectionDto, { ids: Array.from({ length: 501 }, (_, i) => String(i + 1)) }).messages[0]).toMatch(
      /at most 500/,
    );
    expect(check(BulkSelectionDto, { ids: ['1', 'x'] }).messages).toEqual(['Patient ids must be whole numbers.']);
  });

  it('asks for a selection when nothing is ticked', () => {
    expect(() => toSelection(check(BulkSelectionDto, {}).value, utc)).toThrow(BadRequestException);
    // The refusal is a message key until shown: in English it asks for a selection.
    const refusal = (() => {
      try {
        return toSelection(check(BulkSelectionDto, {}).value, utc);
      } catch (error) {
        return translateMessage('en', (error as Error).message);
      }
    })();
    expect(refusal).toMatch(/Select at least one patient/);
  });
});
