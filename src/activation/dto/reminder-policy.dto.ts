import { Type } from 'class-transformer';
import { applyDecorators } from '@nestjs/common';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { message } from '../../i18n/messages';

/** A whole number from min to max, with one message (a key of staff.json `reminders.*`) for every way it is wrong. */
const WholeNumber = (min: number, max: number, key: string) => {
  const options = { message: message(`staff:reminders.${key}`) };
  return applyDecorators(
    Type(() => Number),
    IsInt(options),
    Min(min, options),
    Max(max, options),
  );
};

/** The /admin/reminders form. */
export class ReminderPolicyDto {
  @IsOptional()
  @IsIn(['yes'], { message: message('staff:reminders.badEnabled') })
  enabled?: 'yes';

  @IsString({ message: message('staff:reminders.badDays') })
  @MaxLength(64, { message: message('staff:reminders.badDays') })
  daysAfterInvite!: string;

  @WholeNumber(0, 60, 'badDaysBefore')
  daysBeforeAppointment!: number;

  @WholeNumber(0, 20, 'badMaxPerPatient')
  maxPerPatient!: number;

  @WholeNumber(0, 23, 'badFromHour')
  allowedFromHour!: number;

  @WholeNumber(0, 24, 'badUntilHour')
  allowedUntilHour!: number;
}
