import type { Connection } from './connection.js';
import { messageOf, StoreError } from './errors.js';
import { clearStamps } from './snapshot-header.js';

/**
 * The bytes of a plain SQLite database file holding everything `conn` holds now, for
 * `store.exportDatabase()`. sql.js's `export()` is SQLite's backup API: a consistent copy of the
 * main database that neither closes nor reopens the connection, so the pragmas and prepared
 * statements the store relies on stay as they are. The store's own stamps (identity, commit
 * number) are cleared: the copy is no longer this store, and opening it as one gives it its own.
 */
export function exportDatabase(conn: Connection, where: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = conn.db.export();
  } catch (error) {
    throw new StoreError('IO', `the database of the store at ${where} could not be exported: ${messageOf(error)}`, { cause: error });
  }
  clearStamps(bytes);
  return bytes;
}
