import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { OnboardingPageQueryDto } from './dto/onboarding-filter.dto';
import { decodeCursor, nextDay } from './onboarding-filter';
import { parseClinicDate, formatClinicDay } from '../common/time/clinic-time';
import { message } from '../i18n/messages';
import { SOURCE_LANGUAGE, translations } from '../i18n/translations';

/**
 * Every query parameter the onboarding page knows. The words staff see next to each are staff.json
 * `filterLabel.<field>`, and what a bad value means `filterProblem.invalid.<field>` (class-validator's messages name
 * internals); a problem is a message key, written out in the staff language when shown.
 */
export const ONBOARDING_QUERY_FIELDS = [
  'q',
  'tag',
  'provider',
  'access',
  'username',
  'language',
  'apptAfter',
  'apptBefore',
  'status',
  'worklist',
  'funnel',
  'invitedMonth',
  'representative',
  'turned18',
  'sort',
  'size',
  'after',
  'before',
  'page',
  'scope',
  'ids',
  'enabledBatch',
] as const;
export type OnboardingQueryField = (typeof ONBOARDING_QUERY_FIELDS)[number];

export interface ParsedOnboardingQuery {
  /** The parameters that could be used; each one with a problem is left out. */
  dto: OnboardingPageQueryDto;
  /** "Next appointment after: not a date" (a message key), by the field the message belongs next to. */
  problems: Partial<Record<OnboardingQueryField, string>>;
  /** Why the remaining filters cannot match anything (shown above the empty table), as message keys. */
  notices: string[];
}

/** What a bad value of the field means, in words: its own sentence, or "not understood". */
const invalid = (field: OnboardingQueryField) =>
  translations().exists(`staff:filterProblem.invalid.${field}`, { lng: SOURCE_LANGUAGE })
    ? message(`staff:filterProblem.invalid.${field}`)
    : message('staff:filterProblem.notUnderstood', { field });

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
  const say = (field: OnboardingQueryField, problem: string) => {
    problems[field] ??= problem;
  };
  for (const field of ONBOARDING_QUERY_FIELDS) {
    if (!own(raw, field)) continue;
    const value = raw[field];
    if (field === 'ids') {
      picked[field] = value;
    } else if (typeof value !== 'string') {
      say(field, message('staff:filterProblem.repeated', { field }));
    } else if (field === 'apptAfter' || field === 'apptBefore') {
      const date = parseClinicDate(value);
      if (date.ok) picked[field] = date.iso;
      else if (date.problem !== 'empty')
        say(
          field,
          date.problem === 'no-such-day'
            ? message('staff:filterProblem.noSuchDay', { field, value })
            : message('staff:filterProblem.notADate', { field }),
        );
    } else {
      picked[field] = value;
    }
  }

  const dto = plainToInstance(OnboardingPageQueryDto, picked);
  for (const error of validateSync(dto, { whitelist: true, forbidUnknownValues: true, stopAtFirstError: true })) {
    const field = error.property as OnboardingQueryField;
    say(field, invalid(field));
    delete (dto as unknown as Record<string, unknown>)[field];
  }
  // A cursor of another sort order (or a tampered one) falls back to the first page.
  for (const field of ['after', 'before'] as const) {
    const cursor = dto[field];
    if (!cursor) continue;
    try {
      decodeCursor(cursor, dto.sort ?? 'name');
    } catch {
      say(field, invalid(field));
      delete dto[field];
    }
  }

  const notices: string[] = [];
  if (dto.apptAfter && dto.apptBefore && nextDay(dto.apptAfter) >= dto.apptBefore) {
    notices.push(
      message('staff:filterProblem.noDayBetween', {
        after: formatClinicDay(dto.apptAfter),
        before: formatClinicDay(dto.apptBefore),
      }),
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
    problems[field] ??= message('staff:filterProblem.missing', { field });
  }
  return { ...parsed, dto, problems };
}

/** A page number past the end (the list got shorter since the bookmark): the last page is shown. */
export function pageProblem(pages: number): string {
  return message('staff:filterProblem.pageTooFar', { count: pages });
}
