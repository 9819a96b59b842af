import { MigrationInterface, QueryRunner, TableColumn, TableIndex, TableUnique } from 'typeorm';

/**
 * What real EHR exports need (issue #20, #14): a patient's deceased flag and date, the
 * identifier system its external id came from, providers told apart by NPI (two
 * practitioners may share a name) and found again by their FHIR resource id, and an
 * import run's heartbeat and upload file so a run left by a crashed process is closed at startup.
 */
export class ImportIdentity1765300000000 implements MigrationInterface {
  name = 'ImportIdentity1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('patients', [
      new TableColumn({ name: 'deceased', type: 'boolean', default: 0 }),
      // As given (YYYY, YYYY-MM or YYYY-MM-DD): FHIR allows a partial date.
      new TableColumn({ name: 'deceased_date', type: 'varchar', length: '10', isNullable: true }),
      new TableColumn({ name: 'external_id_system', type: 'varchar', length: '255', isNullable: true }),
    ]);
    await setNameUnique(q, false);
    await q.addColumns('providers', [new TableColumn({ name: 'fhir_id', type: 'varchar', length: '100', isNullable: true })]);
    await q.createIndices('providers', [
      new TableIndex({ name: 'ix_providers_name', columnNames: ['name'] }),
      new TableIndex({ name: 'ix_providers_external_id', columnNames: ['external_id'] }),
    ]);
    await q.addColumns('import_runs', [
      new TableColumn({ name: 'heartbeat_at', type: 'datetime', isNullable: true }),
      new TableColumn({ name: 'upload_file', type: 'varchar', length: '255', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('import_runs', 'upload_file');
    await q.dropColumn('import_runs', 'heartbeat_at');
    await q.dropIndex('providers', 'ix_providers_external_id');
    await q.dropIndex('providers', 'ix_providers_name');
    await q.dropColumn('providers', 'fhir_id');
    await setNameUnique(q, true);
    await q.dropColumn('patients', 'external_id_system');
    await q.dropColumn('patients', 'deceased_date');
    await q.dropColumn('patients', 'deceased');
  }
}

/** SQLite keeps a column's UNIQUE as a table constraint; MySQL/MariaDB as a unique index (changeColumn handles it). */
async function setNameUnique(q: QueryRunner, unique: boolean): Promise<void> {
  const providers = (await q.getTable('providers'))!;
  if (q.connection.options.type === 'better-sqlite3') {
    if (unique) await q.createUniqueConstraint(providers, new TableUnique({ columnNames: ['name'] }));
    else {
      const constraint = providers.uniques.find((u) => u.columnNames.length === 1 && u.columnNames[0] === 'name');
      if (constraint) await q.dropUniqueConstraint(providers, constraint);
    }
    return;
  }
  const name = providers.findColumnByName('name')!;
  const changed = name.clone();
  changed.isUnique = unique;
  await q.changeColumn(providers, name, changed);
}
