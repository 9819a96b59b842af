import { Transform } from 'class-transformer';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { IsSafeEmail } from '../../common/validation/safe-email.decorator';
import { STAFF_ROLES, type StaffRole } from '../../auth/entities/staff-user.entity';
import { message } from '../../i18n/messages';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

export class CreateStaffUserDto {
  @Transform(trim)
  @IsSafeEmail()
  email!: string;

  @Transform(trim)
  @IsString()
  @Length(1, 100, { message: message('staff:form.staffNameLength') })
  @Matches(NO_CONTROL_CHARS, { message: message('staff:form.nameCharacters') })
  name!: string;

  @IsIn(STAFF_ROLES, { message: message('staff:form.role') })
  role!: StaffRole;
}

export class ChangeRoleDto {
  @IsIn(STAFF_ROLES, { message: message('staff:form.role') })
  role!: StaffRole;
}

export class SetDisabledDto {
  @IsIn(['true', 'false'], { message: message('staff:form.disabledTrueOrFalse') })
  disabled!: 'true' | 'false';
}
