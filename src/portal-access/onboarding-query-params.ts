import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { OnboardingPageQueryDto } from './dto/onboarding-filter.dto';
import { decodeCursor, nextDay } from './onboarding-filter';
import { parseClinicDate, formatClinicDay } from '../common/time/clinic-time';

/** Every query parameter the onboarding page knows, with the words staff see next to it. */
export const ONBOARDING_QUERY_LABELS = {
  q: 'Search',
  tag: 'Tag',
  provider: 'Primary provider',
  access: 'Access enabled',
  username: 'Has username',
  language: 'Preferred language',
  apptAfter: 'Next appointment after',
  apptBefore: 'Next appointment before',
  status: 'Status',
  worklist: 'Worklist view',
  funnel: 'Activation stage',
  invitedMonth: 'First invited in',
  representative: 'Has representative',
  turned18: 'Turned 18',
  sort: 'Sort',
  size: 'Rows per page',
  after: 'Page link',
  before: 'Page link',
  page: 'Page',
  scope: 'Selection',
  ids: 'Selection',
  enabledBatch: 'Selection',
} as const;
export type OnboardingQueryField = keyof typeof ONBOARDING_QUERY_LABELS;

/** What a problem with each kind of field means, in words (class-validator's messages name internals). */
const PROBLEM_WORDS: Partial<Record<OnboardingQueryField, string>> = {
  q: 'needs 2 to 100 characters, without control characters',
  tag: 'not one of the tags in the list',
  provider: 'not one of the providers in the list',
  access: 'choose Any, Yes or No',
  username: 'choose Any, Yes or No',
  language: 'not one of the languages in the list',
  status: 'not one of the statuses in the list',
  worklist: 'not one of the worklist views',
  funnel: 'not one of the activation stages',
  invitedMonth: 'give a month as YYYY-MM',
  representative: 'choose Any, Yes or No',
  turned18: 'tick it or leave it out',
  sort: 'not a column of this list; sorted by name',
  size: 'choose 25, 50 or 100; showing 50',
  after: 'out of date; showing the first page',
  before: 'out of date; showing the first page',
  page: 'not a page number; showing the first page',
  scope: 'not understood; nothing is selected',
  ids: 'not understood; nothing is selected',
  enabledBatch: 'not understood; nothing is selected',
};

export interface ParsedOnboardingQuery {
  /** The parameters that could be used; each one with a problem is left out. */
  dto: OnboardingPageQueryDto;
  /** "Next appointment after: not a date", by the field the message belongs next to. */
  problems: Partial<Record<OnboardingQueryField, string>>;
  /** Why the remaining filters cannot match anything (shown above the empty table). */
  notices: string[];
}

const own = (value: object, key: string) => Object.prototype.hasOwnProperty.call(value, key);

/**
 * A bookmark never breaks the page (issue 13, defect 6): unknown parameters are ignored,
 * a bad value is dropped with a message in words, the other filters are applied. The
 * security posture stays: prototype keys were refused before this runs (app.setup.ts),
 * only own keys from the fixed list are read, and a repeated (array) value is dropped.
 */
export function parseOnboardingQuery(raw: Record<string, unknown>): ParsedOnboardingQuery {
  const problems: ParsedOnboardingQuery['problems'] = {};
  const picked: Record<string, unknown> = {};
  const say = (field: OnboardingQueryField, words: string) => {
    problems[field] ??= `${ONBOARDING_QUERY_LABELS[field]}: ${words}.`;
  };
  for (const field of Object.keys(ONBOARDING_QUERY_LABELS) as OnboardingQueryField[]) {
    if (!own(raw, field)) continue;
    const value = raw[field];
    if (field === 'ids') {
      picked[field] = value;
    } else if (typeof value !== 'string') {
      say(field, 'given more than once; left out');
    } else if (field === 'apptAfter' || field === 'apptBefore') {
      const date = parseClinicDate(value);
      if (date.ok) picked[field] = date.iso;
      else if (date.problem !== 'empty')
        say(field, date.problem === 'no-such-day' ? `there is no such day as ${value}` : 'not a date (write it as MM/DD/YYYY)');
    } else {
      picked[field] = value;
    }
  }

  const dto = plainToInstance(OnboardingPageQueryDto, picked);
  for (const error of validateSync(dto, { whitelist: true, forbidUnknownValues: true, stopAtFirstError: true })) {
    const field = error.property as OnboardingQueryField;
    say(field, PROBLEM_WORDS[field] ?? 'not understood');
    delete (dto as unknown as Record<string, unknown>)[field];
  }
  // A cursor of another sort order (or a tampered one) falls back to the first page.
  for (const field of ['after', 'before'] as const) {
    const cursor = dto[field];
    if (!cursor) continue;
    try {
      decodeCursor(cursor, dto.sort ?? 'name');
    } catch {
      say(field, PROBLEM_WORDS[field]!);
      delete dto[field];
    }
  }

  const notices: string[] = [];
  if (dto.apptAfter && dto.apptBefore && nextDay(dto.apptAfter) >= dto.apptBefore) {
    notices.push(
      `No patient can match: the next appointment would have to be after ${formatClinicDay(dto.apptAfter)} and before ${formatClinicDay(dto.apptBefore)}, and no day lies between them. Choose an “after” day at least two days before the “before” day.`,
    );
  }
  return { dto, problems, notices };
}

/** Drops a tag or provider id that is not in the lists (deleted since the bookmark, or typed). */
export function withoutMissingReferences(parsed: ParsedOnboardingQuery, missing: ('tag' | 'provider')[]): ParsedOnboardingQuery {
  if (missing.length === 0) return parsed;
  const dto = Object.assign(new OnboardingPageQueryDto(), parsed.dto);
  const problems = { ...parsed.problems };
  for (const field of missing) {
    delete dto[field];
    problems[field] ??= `${ONBOARDING_QUERY_LABELS[field]}: no longer in the list (deleted or mistyped); left out.`;
  }
  return { ...parsed, dto, problems };
}

/** A page number past the end (the list got shorter since the bookmark): the last page is shown. */
export function pageProblem(pages: number): string {
  return `${ONBOARDING_QUERY_LABELS.page}: there ${pages === 1 ? 'is only 1 page' : `are only ${pages} pages`}; showing the last.`;
}
