import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableForeignKey, TableIndex } from 'typeorm';

const staffFk = (column = 'staff_user_id') =>
  new TableForeignKey({
    columnNames: [column],
    referencedTableName: 'staff_users',
    referencedColumnNames: ['id'],
    onDelete: 'CASCADE',
  });
const nullable = (name: string, type: string, length?: string): TableColumnOptions => ({ name, type, length, isNullable: true });
const createdAt = (): TableColumnOptions => ({ name: 'created_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' });

/**
 * Staff second factor (TOTP, recovery codes, passkeys) and the settings table for the policy.
 * New tables only: on SQLite, adding columns to staff_users would rebuild a table other
 * tables reference, so the TOTP state lives in its own 1:1 table.
 */
export class StaffSecondFactor1764400000000 implements MigrationInterface {
  name = 'StaffSecondFactor1764400000000';

  async up(q: QueryRunner): Promise<void> {
    // SQLite only auto-increments an INTEGER PRIMARY KEY.
    const idType = q.connection.options.type === 'better-sqlite3' ? 'integer' : 'int';
    const id = (): TableColumnOptions => ({
      name: 'id',
      type: idType,
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    });

    await q.createTable(
      new Table({
        name: 'staff_totp',
        columns: [
          { name: 'staff_user_id', type: 'int', isPrimary: true },
          // AES-256-GCM with a key derived from MFA_ENCRYPTION_KEY; never stored in clear.
          { name: 'secret_encrypted', type: 'varchar', length: '255' },
          // Null while the user has scanned the QR code but not yet confirmed a code.
          nullable('enabled_at', 'datetime'),
          // The last accepted time step: a code is usable once.
          nullable('last_used_step', 'bigint'),
          createdAt(),
        ],
        foreignKeys: [staffFk()],
      }),
    );

    await q.createTable(
      new Table({
        name: 'staff_recovery_codes',
        columns: [
          id(),
          { name: 'staff_user_id', type: 'int' },
          // HMAC-SHA-256 (hex) of the normalised code; the code itself is shown once.
          { name: 'code_hash', type: 'varchar', length: '64' },
          nullable('used_at', 'datetime'),
          createdAt(),
        ],
        foreignKeys: [staffFk()],
        indices: [
          new TableIndex({
            name: 'uq_staff_recovery_codes_user_hash',
            columnNames: ['staff_user_id', 'code_hash'],
            isUnique: true,
          }),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'staff_passkeys',
        columns: [
          id(),
          { name: 'staff_user_id', type: 'int' },
          // base64url; 512 characters cover 384-byte credential ids (longer ones are refused).
          { name: 'credential_id', type: 'varchar', length: '512' },
          { name: 'public_key', type: 'text' },
          { name: 'counter', type: 'bigint', default: 0 },
          nullable('transports', 'varchar', '200'),
          { name: 'name', type: 'varchar', length: '100' },
          createdAt(),
          nullable('last_used_at', 'datetime'),
        ],
        foreignKeys: [staffFk()],
        indices: [
          new TableIndex({ name: 'uq_staff_passkeys_credential', columnNames: ['credential_id'], isUnique: true }),
          new TableIndex({ name: 'ix_staff_passkeys_user', columnNames: ['staff_user_id', 'id'] }),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'settings',
        columns: [
          { name: 'setting_key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'value', type: 'varchar', length: '1000' },
          { name: 'updated_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' },
          nullable('updated_by_staff_id', 'int'),
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['updated_by_staff_id'],
            referencedTableName: 'staff_users',
            referencedColumnNames: ['id'],
            onDelete: 'SET NULL',
          }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['settings', 'staff_passkeys', 'staff_recovery_codes', 'staff_totp']) await q.dropTable(table);
  }
}
