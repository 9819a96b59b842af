import { Transform } from 'class-transformer';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { IsSafeEmail } from '../../common/validation/safe-email.decorator';
import { STAFF_ROLES, type StaffRole } from '../../auth/entities/staff-user.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

export class CreateStaffUserDto {
  @Transform(trim)
  @IsSafeEmail()
  email!: string;

  @Transform(trim)
  @IsString()
  @Length(1, 100, { message: 'Enter a name of 1 to 100 characters.' })
  @Matches(NO_CONTROL_CHARS, { message: 'The name contains characters that cannot be used.' })
  name!: string;

  @IsIn(STAFF_ROLES, { message: 'Choose a role: admin or staff.' })
  role!: StaffRole;
}

export class ChangeRoleDto {
  @IsIn(STAFF_ROLES, { message: 'Choose a role: admin or staff.' })
  role!: StaffRole;
}

export class SetDisabledDto {
  @IsIn(['true', 'false'], { message: 'disabled must be true or false.' })
  disabled!: 'true' | 'false';
}
