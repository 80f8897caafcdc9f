import init from '../schema/0001_init.sql?raw';
import toolCallId from '../schema/0002_tool_call_id.sql?raw';
import langgraph from '../schema/0003_langgraph.sql?raw';
import seedQueryIndexes from '../schema/0004_seed_query_indexes.sql?raw';
import type { Connection } from './connection.js';
import { messageOf, StoreError } from './errors.js';

/** One forward-only schema step; `version` is what PRAGMA user_version becomes after it. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The schema's migrations, from `schema/*.sql`, inlined at build time so every runtime runs
 * the same text. Apps may pass these plus their own later versions to `openStore`.
 */
export const schemaMigrations: readonly Migration[] = [
  { version: 1, name: '0001_init', sql: init },
  { version: 2, name: '0002_tool_call_id', sql: toolCallId },
  { version: 3, name: '0003_langgraph', sql: langgraph },
  { version: 4, name: '0004_seed_query_indexes', sql: seedQueryIndexes },
];

/** Throws INVALID_INPUT unless versions run 1, 2, 3, ... without gaps. */
export function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1 || typeof m.sql !== 'string') {
      throw new StoreError('INVALID_INPUT', `migration ${i + 1} ('${m.name}') must have version ${i + 1} and SQL text`);
    }
  });
}

/** The schema version a database is at. */
export function schemaVersion(conn: Connection): number {
  return Number(conn.pragma('user_version'));
}

/** Throws SCHEMA_TOO_NEW when the database was written by a newer schema than this code knows. */
export function refuseNewerSchema(conn: Connection, migrations: readonly Migration[], where: string): void {
  const version = schemaVersion(conn);
  const latest = migrations.length;
  if (version > latest) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `${where} has schema version ${version}, newer than ${latest}, the newest this agent-ops-store knows; upgrade the library`,
    );
  }
}

/**
 * Applies the migrations the database lacks, each in its own transaction with user_version
 * bumped inside it. Foreign keys are checked before each commit. Returns how many ran.
 */
export function migrate(conn: Connection, migrations: readonly Migration[]): number {
  let applied = 0;
  for (const migration of migrations.slice(schemaVersion(conn))) {
    conn.exec('BEGIN');
    try {
      conn.exec(migration.sql);
      const violations = conn.all('SELECT * FROM pragma_foreign_key_check LIMIT 1');
      if (violations.length > 0) {
        throw new StoreError(
          'CONSTRAINT',
          `migration ${migration.name} leaves a foreign key violation in '${String(violations[0]!.table)}'`,
        );
      }
      conn.exec(`PRAGMA user_version = ${migration.version}`);
      conn.exec('COMMIT');
    } catch (error) {
      conn.exec('ROLLBACK');
      if (error instanceof StoreError && error.code !== 'SQL') throw error;
      throw new StoreError('SQL', `migration ${migration.name} failed: ${messageOf(error)}`, { cause: error });
    }
    applied++;
  }
  return applied;
}
