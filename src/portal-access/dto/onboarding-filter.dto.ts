import { Transform, type TransformFnParams } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { applyDecorators, BadRequestException } from '@nestjs/common';
import type { Selection } from '../onboarding-actions.service';
import { STATUS_CHOICES, type StatusChoice } from '../portal-status';
import { FUNNEL_STAGES, WORKLIST_VIEWS, type FunnelStage, type WorklistView } from '../activation-filters';
import { LANGUAGE_FILTER } from '../onboarding-language';
import { digitsToNumber, emptyToUndefined, OptionalDate, OptionalId } from '../../common/validation/query-fields';
import type { ClinicClock } from '../../common/time/clinic-time';
import {
  ONBOARDING_PAGE_SIZES,
  ONBOARDING_SORTS,
  withClinicDays,
  type OnboardingFilter,
  type OnboardingSort,
} from '../onboarding-filter';
import { message } from '../../i18n/messages';

/** An explicit id list larger than this must use "Select all N matching this filter" (body size, audit of intent). */
export const MAX_EXPLICIT_IDS = 500;

const CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

/** `field` names the filter's words (staff.json filterLabel.<field>) in the message. */
const OptionalChoice = (field: string, choices: readonly string[]) =>
  applyDecorators(
    Transform(emptyToUndefined),
    IsOptional(),
    IsIn(choices, { message: message('staff:form.oneOf', { field, choices: choices.join(', ') }) }),
  );

/** Checked patient ids: at most MAX_EXPLICIT_IDS (bigger selections use "Select all N matching"). */
const PatientIds = () =>
  // In the order a stack of property decorators would register (bottom-up), so the first error shown stays the same.
  applyDecorators(
    Max(2_147_483_647, { each: true, message: message('staff:form.patientIds') }),
    Min(1, { each: true, message: message('staff:form.patientIds') }),
    IsInt({ each: true, message: message('staff:form.patientIds') }),
    ArrayMaxSize(MAX_EXPLICIT_IDS, {
      message: message('staff:form.tooManyIds', { max: MAX_EXPLICIT_IDS }),
    }),
    ArrayMinSize(1),
    IsOptional(),
    Transform(({ value }: TransformFnParams) => {
      if (value === undefined || value === '') return undefined;
      const list = Array.isArray(value) ? value : [value];
      return list.map((item) => (typeof item === 'string' && /^\d{1,10}$/.test(item) ? Number(item) : item));
    }),
  );

/**
 * "All matching as it was before Enable": the batch id of that enable. Its patients stay in
 * the selection although enabling moved them out of a filter such as "Access enabled: No".
 */
const EnabledBatch = () =>
  applyDecorators(Transform(emptyToUndefined), IsOptional(), IsUUID('4', { message: message('staff:form.keptSelection') }));

/** The filters of the onboarding page: query string of the page, hidden fields of the bulk forms. */
export class OnboardingFilterDto {
  @Transform(({ value }: TransformFnParams) => (typeof value === 'string' ? value.normalize('NFC').trim() || undefined : value))
  @IsOptional()
  // class-validator runs these bottom-up: the type check first.
  @Matches(CONTROL_CHARS, { message: message('staff:form.searchCharacters') })
  @Length(2, 100, { message: message('staff:form.searchLength') })
  @IsString({ message: message('staff:form.searchText') })
  q?: string;

  @OptionalId(message('staff:form.tag'))
  tag?: number;

  @OptionalId(message('staff:form.primaryProvider'))
  provider?: number;

  @OptionalChoice('access', ['any', 'yes', 'no'])
  access?: 'any' | 'yes' | 'no';

  @OptionalChoice('username', ['any', 'yes', 'no'])
  username?: 'any' | 'yes' | 'no';

  @IsOptional()
  @Matches(LANGUAGE_FILTER, { message: message('staff:form.preferredLanguage') })
  language?: string;
  @OptionalChoice('representative', ['any', 'yes', 'no'])
  representative?: 'any' | 'yes' | 'no';

  @OptionalChoice('turned18', ['yes'])
  turned18?: 'yes';

  @OptionalDate()
  apptBefore?: string;

  @OptionalDate()
  apptAfter?: string;

  @OptionalChoice('status', STATUS_CHOICES)
  status?: StatusChoice;

  @OptionalChoice('worklist', WORKLIST_VIEWS)
  worklist?: WorklistView;

  @OptionalChoice('funnel', FUNNEL_STAGES)
  funnel?: FunnelStage;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^20\d\d-(0[1-9]|1[0-2])$/, { message: message('staff:form.invitedMonth') })
  invitedMonth?: string;
}

/** GET /portal-onboarding: filters plus sort, page size and the keyset cursor. */
export class OnboardingPageQueryDto extends OnboardingFilterDto {
  @OptionalChoice('sort', ONBOARDING_SORTS)
  sort?: OnboardingSort;

  @Transform(digitsToNumber)
  @IsOptional()
  @IsIn(ONBOARDING_PAGE_SIZES, { message: message('staff:form.pageSize', { choices: ONBOARDING_PAGE_SIZES.join(', ') }) })
  size?: number;

  /** Opaque keyset cursors ("rows after / before this one"); checked again when decoded. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,600}$/, { message: message('staff:form.pageLink') })
  after?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,600}$/, { message: message('staff:form.pageLink') })
  before?: string;

  /** "Go to page N" (with no cursor), or the number of the cursor's page (a label carried by the pager links). */
  @Transform(digitsToNumber)
  @IsOptional()
  @IsInt({ message: message('staff:form.page') })
  @Min(1, { message: message('staff:form.page') })
  @Max(1_000_000, { message: message('staff:form.page') })
  page?: number;

  /** The selection to show ticked (the results reload after a bulk Enable keeps it). */
  @OptionalChoice('scope', ['ids', 'filter'])
  scope?: 'ids' | 'filter';

  @PatientIds()
  ids?: number[];

  @EnabledBatch()
  enabledBatch?: string;
}

/**
 * A bulk action's selection: either the checked ids of the page (scope "ids", at most
 * MAX_EXPLICIT_IDS) or every patient matching the filter fields (scope "filter").
 */
export class BulkSelectionDto extends OnboardingFilterDto {
  @OptionalChoice('scope', ['ids', 'filter'])
  scope?: 'ids' | 'filter';

  @PatientIds()
  ids?: number[];

  @EnabledBatch()
  enabledBatch?: string;
}

/** The service-level filter of a validated DTO ("any" and empty fields dropped). */
export function toOnboardingFilter(dto: OnboardingFilterDto, clock: ClinicClock): OnboardingFilter {
  return withClinicDays(
    {
      q: dto.q,
      tagId: dto.tag,
      providerId: dto.provider,
      access: dto.access === 'any' ? undefined : dto.access,
      username: dto.username === 'any' ? undefined : dto.username,
      language: dto.language || undefined,
      apptBefore: dto.apptBefore,
      apptAfter: dto.apptAfter,
      status: dto.status,
      worklist: dto.worklist,
      funnel: dto.funnel,
      invitedMonth: dto.invitedMonth,
      representative: dto.representative === 'any' ? undefined : dto.representative,
      turned18: dto.turned18,
    },
    clock,
  );
}

/** The bulk selection a service acts on; checked ids win unless "all matching" was chosen. */
export function toSelection(dto: BulkSelectionDto, clock: ClinicClock): Selection {
  if (dto.scope === 'filter')
    return {
      scope: 'filter',
      filter: toOnboardingFilter(dto, clock),
      ...(dto.enabledBatch ? { enabledBatch: dto.enabledBatch } : {}),
    };
  if (!dto.ids || dto.ids.length === 0) throw new BadRequestException(message('staff:refusal.selectSomeone'));
  return { scope: 'ids', ids: dto.ids };
}
