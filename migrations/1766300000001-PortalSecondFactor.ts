import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * An optional second factor for portal accounts: an authenticator app (TOTP) and single-use
 * recovery codes, stored apart from the staff tables (the crypto is shared: src/auth/mfa/).
 * Keyed on the portal account, like portal_sessions.
 */
export class PortalSecondFactor1766300000001 implements MigrationInterface {
  name = 'PortalSecondFactor1766300000001';

  async up(q: QueryRunner): Promise<void> {
    const accountFk = {
      columnNames: ['account_id'],
      referencedTableName: 'portal_accounts',
      referencedColumnNames: ['patient_id'],
      onDelete: 'CASCADE',
    };
    await q.createTable(
      new Table({
        name: 'portal_totp',
        columns: [
          { name: 'account_id', type: 'int', isPrimary: true },
          // AES-256-GCM with a key derived from MFA_ENCRYPTION_KEY; never stored in clear.
          { name: 'secret_encrypted', type: 'varchar', length: '255' },
          // Null while the QR code is shown but no code has confirmed it yet.
          { name: 'enabled_at', type: 'datetime', isNullable: true },
          // The last accepted time step: each code is usable once.
          { name: 'last_used_step', type: 'bigint', isNullable: true },
          { name: 'created_at', type: 'datetime' },
        ],
        foreignKeys: [accountFk],
      }),
    );
    await q.createTable(
      new Table({
        name: 'portal_recovery_codes',
        columns: [
          {
            name: 'id',
            type: q.connection.options.type === 'better-sqlite3' ? 'integer' : 'int',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'account_id', type: 'int' },
          // HMAC-SHA-256 with a key derived from MFA_ENCRYPTION_KEY.
          { name: 'code_hash', type: 'varchar', length: '64' },
          { name: 'used_at', type: 'datetime', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'uq_portal_recovery_codes_hash', columnNames: ['account_id', 'code_hash'], isUnique: true }),
        ],
        foreignKeys: [accountFk],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('portal_recovery_codes');
    await q.dropTable('portal_totp');
  }
}
