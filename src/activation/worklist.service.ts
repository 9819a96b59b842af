import { Injectable } from '@nestjs/common';
import { filterParams, queryString, type OnboardingFilter } from '../portal-access/onboarding-filter';
import { OnboardingQueryService, type OnboardingRow } from '../portal-access/onboarding-query.service';
import { WORKLIST_PAGE_VIEWS, worklistFilterOf, type WorklistPageView } from '../portal-access/activation-filters';
import { ONBOARDING_PATH } from '../portal-access/onboarding-view';

/** Rows shown under the chosen view; the whole view is one click away on the onboarding page. */
export const WORKLIST_ROWS = 50;

export interface WorklistViewModel {
  /** Its label, description and next step are staff.json `worklist.view.<view>.*`, in the staff language. */
  view: WorklistPageView;
  count: number;
  /** The same patients on /portal-onboarding (filterable further, bulk actions, CSV). */
  onboardingUrl: string;
  worklistUrl: string;
}

/**
 * The onboarding worklist: saved views with counts, each the onboarding filter `worklist=<view>` (or
 * `turned18=yes`),
 * so a count, its rows and the onboarding page's "all N matching" bulk resend are the same patients.
 */
@Injectable()
export class WorklistService {
  constructor(private readonly onboarding: OnboardingQueryService) {}

  async views(): Promise<WorklistViewModel[]> {
    return Promise.all(
      WORKLIST_PAGE_VIEWS.map(async (view) => {
        const filter: OnboardingFilter = worklistFilterOf(view);
        const pairs = filterParams(filter);
        return {
          view,
          count: await this.onboarding.count(filter),
          onboardingUrl: `${ONBOARDING_PATH}?${queryString(pairs)}`,
          worklistUrl: `${ONBOARDING_PATH}/worklist?${queryString([['view', view]])}`,
        };
      }),
    );
  }

  /** The first WORKLIST_ROWS patients of a view, as onboarding rows (the same row, the same one-click actions). */
  async rows(view: WorklistPageView): Promise<OnboardingRow[]> {
    const ids = await this.onboarding.matchingIds(worklistFilterOf(view));
    return this.onboarding.rows(ids.slice(0, WORKLIST_ROWS));
  }
}
