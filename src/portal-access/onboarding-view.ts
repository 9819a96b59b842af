import {
  DEFAULT_PAGE_SIZE,
  filterParams,
  ONBOARDING_PAGE_SIZES,
  ONBOARDING_SORTS,
  queryString,
  type OnboardingFilter,
  type OnboardingSort,
} from './onboarding-filter';
import type { Selection } from './onboarding-actions.service';
import type { OnboardingPage } from './onboarding-query.service';

export const ONBOARDING_PATH = '/portal-onboarding';

const url = (pairs: [string, string][]) => (pairs.length ? `${ONBOARDING_PATH}?${queryString(pairs)}` : ONBOARDING_PATH);

/**
 * Template data of the results table: the page plus every link it needs, built here
 * so links keep the filters (bookmarkable) and templates stay free of logic.
 */
export function resultsModel(
  filter: OnboardingFilter,
  page: OnboardingPage,
  cursor: { after?: string; before?: string },
  kept: Selection | null = null,
  keptTotal: number | null = null,
) {
  const filterPairs = filterParams(filter);
  const link = (sort: OnboardingSort, extra: [string, string][] = []) =>
    url([
      ...filterPairs,
      ...(sort !== 'name' ? [['sort', sort] as [string, string]] : []),
      ...(page.size !== DEFAULT_PAGE_SIZE ? [['size', String(page.size)] as [string, string]] : []),
      ...extra,
    ]);
  // With a cursor the number is only a label (page=1 included); without one it is a jump (page 1 is the start).
  const label = (n: number | null): [string, string][] => (n !== null ? [['page', String(n)]] : []);
  const numbered = (n: number | null): [string, string][] => (n !== null && n > 1 ? [['page', String(n)]] : []);
  const at = page.pageNumber;
  const position: [string, string][] = cursor.after
    ? [['after', cursor.after], ...label(at)]
    : cursor.before
      ? [['before', cursor.before], ...label(at)]
      : numbered(at);
  return {
    ...page,
    filterPairs,
    filtered: filterPairs.length > 0,
    pageSizes: ONBOARDING_PAGE_SIZES,
    /** Hidden fields of the "Go to page" form: the same filters, sort and size. */
    jumpPairs: [
      ...filterPairs,
      ...(page.sort !== 'name' ? [['sort', page.sort] as [string, string]] : []),
      ...(page.size !== DEFAULT_PAGE_SIZE ? [['size', String(page.size)] as [string, string]] : []),
    ],
    selection: selectionModel(page, kept, keptTotal),
    links: {
      self: link(page.sort, position),
      sort: Object.fromEntries(ONBOARDING_SORTS.map((sort) => [sort, link(sort)])) as Record<OnboardingSort, string>,
      // Next/Previous stay keyset links; they carry the page number only as a label ("Page 3 of 57").
      next: page.next ? link(page.sort, [['after', page.next], ...label(at === null ? null : at + 1)]) : null,
      previous: page.previous ? link(page.sort, [['before', page.previous], ...label(at === null ? null : at - 1)]) : null,
      first: at !== 1 ? link(page.sort) : null,
      last: at !== page.pages ? link(page.sort, numbered(page.pages)) : null,
      /** "Download CSV": every row matching the same filters, in the same order (src/exports). */
      exportCsv: `${ONBOARDING_PATH}/export.csv${exportPairs(filterPairs, page.sort)}`,
    },
  };
}

function exportPairs(filterPairs: [string, string][], sort: OnboardingSort): string {
  const pairs: [string, string][] = [...filterPairs, ...(sort !== 'name' ? [['sort', sort] as [string, string]] : [])];
  return pairs.length ? `?${queryString(pairs)}` : '';
}

/**
 * The selection shown ticked after a results reload (bulk Enable keeps it): boxes of the rows
 * on this page, hidden fields for selected patients not in the list any more, and "all matching".
 */
function selectionModel(page: OnboardingPage, kept: Selection | null, keptTotal: number | null) {
  if (!kept) return { selected: {}, offPage: [], allMatching: false, enabledBatch: null, keptTotal: null };
  if (kept.scope === 'filter') {
    return {
      selected: Object.fromEntries(page.rows.map((row) => [row.id, true])),
      offPage: [],
      allMatching: true,
      enabledBatch: kept.enabledBatch ?? null,
      keptTotal,
    };
  }
  const shown = new Set(page.rows.map((row) => row.id));
  const ids = [...new Set(kept.ids)];
  return {
    selected: Object.fromEntries(ids.map((id) => [id, true])),
    offPage: ids.filter((id) => !shown.has(id)),
    allMatching: false,
    enabledBatch: null,
    keptTotal: null,
  };
}
