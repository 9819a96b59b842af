import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** The /admin/reminders form. */
export class ReminderPolicyDto {
  @IsOptional()
  @IsIn(['yes'])
  enabled?: 'yes';

  @IsString()
  @MaxLength(64)
  daysAfterInvite!: string;

  @Type(() => Number)
  @IsInt({ message: 'Days before the appointment must be a whole number.' })
  @Min(0)
  @Max(60)
  daysBeforeAppointment!: number;

  @Type(() => Number)
  @IsInt({ message: 'The most reminders per patient must be a whole number.' })
  @Min(0)
  @Max(20)
  maxPerPatient!: number;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(23)
  allowedFromHour!: number;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(24)
  allowedUntilHour!: number;
}
