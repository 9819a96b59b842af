import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Passkeys (WebAuthn credentials) as a portal account's second factor, beside portal_totp.
 * The ceremonies are the staff implementation's (src/auth/mfa/webauthn.ts); the storage is
 * the portal's own, keyed on the portal account like portal_totp.
 */
export class PortalPasskeys1767600000000 implements MigrationInterface {
  name = 'PortalPasskeys1767600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'portal_passkeys',
        columns: [
          {
            name: 'id',
            type: q.connection.options.type === 'better-sqlite3' ? 'integer' : 'int',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'account_id', type: 'int' },
          // base64url credential id, as the browser sends it back at sign-in.
          { name: 'credential_id', type: 'varchar', length: '512' },
          // base64url COSE public key: not a secret, but never shown.
          { name: 'public_key', type: 'text' },
          // The authenticator's signature counter (a clone shows up when it goes backwards).
          { name: 'counter', type: 'bigint', default: 0 },
          { name: 'transports', type: 'varchar', length: '200', isNullable: true },
          // The patient's own name for it ("My phone").
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'created_at', type: 'datetime' },
          { name: 'last_used_at', type: 'datetime', isNullable: true },
        ],
        indices: [
          // One credential belongs to one account only.
          new TableIndex({ name: 'uq_portal_passkeys_credential', columnNames: ['credential_id'], isUnique: true }),
          new TableIndex({ name: 'ix_portal_passkeys_account', columnNames: ['account_id', 'id'] }),
        ],
        foreignKeys: [
          {
            columnNames: ['account_id'],
            referencedTableName: 'portal_accounts',
            referencedColumnNames: ['patient_id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('portal_passkeys');
  }
}
