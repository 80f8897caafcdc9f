import type { Connection } from './connection.js';
import { StoreError } from './errors.js';

/**
 * Tables that may hold a deferred foreign key: only `DEFERRABLE INITIALLY DEFERRED` defers one
 * (PRAGMA defer_foreign_keys is refused by the query guard), and the word must appear in the
 * table's SQL. Matching the word over-approximates (a comment or a default may hold it); that
 * costs a check, never a miss.
 */
export function deferredKeyTables(conn: Connection): string[] {
  return conn
    .all("SELECT name FROM main.sqlite_master WHERE type = 'table' AND sql LIKE '%DEFERRED%' ORDER BY name")
    .map((row) => String(row.name));
}

/**
 * Throws CONSTRAINT when a deferred foreign key is violated, as COMMIT would. The store calls
 * this before a commit record is made durable, so a write COMMIT would refuse is refused
 * while it can still be rolled back. Costs a scan of each table in `tables`, which only
 * stores whose own tables declare deferred keys pay.
 */
export function checkDeferredKeys(conn: Connection, tables: readonly string[]): void {
  for (const table of tables) {
    const violation = conn.get('SELECT rowid, parent FROM pragma_foreign_key_check(?) LIMIT 1', [table]);
    if (violation) {
      throw new StoreError(
        'CONSTRAINT',
        `FOREIGN KEY constraint failed: row ${String(violation.rowid)} of '${table}' references a missing row of ` +
          `'${String(violation.parent)}' (a deferred key, checked before the commit is made durable)`,
      );
    }
  }
}
