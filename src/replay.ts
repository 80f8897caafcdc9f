import { columnsOf, quoteIdent } from './change-capture.js';
import { type Connection, textBytes } from './connection.js';
import { StoreError } from './errors.js';
import type { CommitRecord } from './record-codec.js';

/**
 * Applies commit records to the database, inside the caller's transaction and with foreign
 * keys off: records hold final row images (cascades already appear as deletes), so this is a
 * physical redo, not a re-run of the statements. Deletes go first, then upserts; an upsert
 * that collides on a UNIQUE key with a row the same record rewrites later is fixed by then.
 */
/** Long texts are bound as UTF-8 bytes (see textBytes): the same TEXT, bound much faster. */
const LONG_TEXT = (v: unknown): boolean => typeof v === 'string' && v.length > 64;

export function replayRecords(conn: Connection, records: readonly CommitRecord[]): void {
  const columnCache = new Map<string, string[]>();
  const sequences = new Map<string, bigint>();
  for (const record of records) {
    for (const change of record.changes.tables) {
      let columns = columnCache.get(change.table);
      if (!columns) {
        columns = columnsOf(conn, change.table);
        columnCache.set(change.table, columns);
      }
      if (columns.length === 0) {
        throw new StoreError('CORRUPT', `log record ${record.seq} changes table '${change.table}', which does not exist`);
      }
      if (columns.join('\u0000') !== change.columns.join('\u0000')) {
        throw new StoreError(
          'CORRUPT',
          `log record ${record.seq} was written for other columns of '${change.table}' (${change.columns.join(', ')})`,
        );
      }
      const table = `main.${quoteIdent(change.table)}`;
      for (const rowid of change.deletes) conn.run(`DELETE FROM ${table} WHERE rowid = ?`, [rowid]);
      const into = `INSERT OR REPLACE INTO ${table} (rowid, ${columns.map(quoteIdent).join(', ')}) VALUES (?`;
      for (const [rowid, values] of change.upserts) {
        // sql.js binds a JS number with no fraction (1.0, -0.0) as INTEGER: cast such REALs back.
        const slots = values.map((v) =>
          typeof v === 'number' && Number.isInteger(v) ? ', CAST(? AS REAL)' : LONG_TEXT(v) ? ', CAST(? AS TEXT)' : ', ?',
        );
        conn.run(`${into}${slots.join('')})`, [rowid, ...values.map((v) => (LONG_TEXT(v) ? textBytes(v as string) : v))]);
      }
    }
    for (const [name, seq] of record.changes.sequences) sequences.set(name, seq);
  }
  // Records carry absolute AUTOINCREMENT counters, so only the last one per table matters.
  for (const [name, seq] of sequences) {
    conn.run('DELETE FROM main.sqlite_sequence WHERE name = ?', [name]);
    conn.run('INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)', [name, seq]);
  }
}
