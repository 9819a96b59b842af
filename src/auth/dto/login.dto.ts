import { IsOptional, IsString, MaxLength } from 'class-validator';

export class LoginPageQuery {
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  next?: string;
}

/** Checked by the local strategy before this DTO; here only to refuse unexpected fields. */
export class LoginDto extends LoginPageQuery {
  @IsString()
  @MaxLength(254)
  email!: string;

  @IsString()
  @MaxLength(1024)
  password!: string;
}
