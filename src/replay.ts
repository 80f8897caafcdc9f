import { columnsOf, quoteIdent } from './change-capture.js';
import { type CellValue, type Connection, textBytes } from './connection.js';
import { StoreError } from './errors.js';
import { type ReplayRecord, type ReplayValue, Utf8Text } from './record-codec.js';

/** Long texts are bound as UTF-8 bytes (see textBytes): the same TEXT, bound much faster. */
const LONG_TEXT = 64;
// How each value is bound: as is, as a REAL sql.js would take for an INTEGER, or as UTF-8 bytes.
const PLAIN = 'p';
const REAL = 'r';
const TEXT = 't';

/**
 * Applies commit records to the database, inside the caller's transaction and with foreign
 * keys off: records hold final row images (cascades already appear as deletes), so this is a
 * physical redo, not a re-run of the statements. Deletes go first, then upserts; an upsert
 * that collides on a UNIQUE key with a row the same record rewrites later is fixed by then.
 * Every table's statements are built once per replay (one per way its values are bound) and
 * stay prepared in the connection's cache, so a long log costs a bind and a step per row.
 */
export function replayRecords(conn: Connection, records: readonly ReplayRecord[]): void {
  const tables = new Map<string, TableReplay>();
  const sequences = new Map<string, bigint>();
  for (const record of records) {
    for (const change of record.changes.tables) {
      let table = tables.get(change.table);
      if (!table) {
        table = new TableReplay(conn, change.table, record.seq);
        tables.set(change.table, table);
      }
      table.check(change.columns, record.seq);
      for (const rowid of change.deletes) conn.run(table.deleteSql, [rowid]);
      for (const [rowid, values] of change.upserts) table.upsert(rowid, values);
    }
    for (const [name, seq] of record.changes.sequences) sequences.set(name, seq);
  }
  // Records carry absolute AUTOINCREMENT counters, so only the last one per table matters.
  for (const [name, seq] of sequences) {
    conn.run('DELETE FROM main.sqlite_sequence WHERE name = ?', [name]);
    conn.run('INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)', [name, seq]);
  }
}

/** One table's replay: its columns as the database has them, and its statements by binding shape. */
class TableReplay {
  readonly deleteSql: string;
  readonly #conn: Connection;
  readonly #name: string;
  readonly #columns: readonly string[];
  readonly #key: string;
  #checked: readonly string[] | null = null;
  readonly #into: string;
  readonly #inserts = new Map<string, string>();
  readonly #params: (CellValue | null)[];
  readonly #shape: string[];

  constructor(conn: Connection, name: string, seq: number) {
    this.#conn = conn;
    this.#name = name;
    this.#columns = columnsOf(conn, name);
    if (this.#columns.length === 0) {
      throw new StoreError('CORRUPT', `log record ${seq} changes table '${name}', which does not exist`);
    }
    this.#key = this.#columns.join('\u0000');
    const table = `main.${quoteIdent(name)}`;
    this.deleteSql = `DELETE FROM ${table} WHERE rowid = ?`;
    this.#into = `INSERT OR REPLACE INTO ${table} (rowid, ${this.#columns.map(quoteIdent).join(', ')}) VALUES (?`;
    this.#params = new Array(this.#columns.length + 1).fill(null);
    this.#shape = new Array(this.#columns.length).fill(PLAIN);
  }

  /** Throws CORRUPT unless the record was written for the columns the table has. */
  check(columns: readonly string[], seq: number): void {
    // Records of one table share their decoded column list (see the record codec): compared once.
    if (columns === this.#checked) return;
    if (columns.length === this.#columns.length && columns.join('\u0000') === this.#key) {
      this.#checked = columns;
      return;
    }
    throw new StoreError('CORRUPT', `log record ${seq} was written for other columns of '${this.#name}' (${columns.join(', ')})`);
  }

  /** Writes one row image at its rowid. */
  upsert(rowid: bigint, values: readonly ReplayValue[]): void {
    const params = this.#params;
    const shape = this.#shape;
    params[0] = rowid;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (typeof v === 'number' && Number.isInteger(v)) {
        // sql.js binds a JS number with no fraction (1.0, -0.0) as INTEGER: cast such REALs back.
        shape[i] = REAL;
        params[i + 1] = v;
      } else if (v instanceof Utf8Text) {
        shape[i] = TEXT;
        params[i + 1] = v.bytes;
      } else if (typeof v === 'string' && v.length > LONG_TEXT) {
        shape[i] = TEXT;
        params[i + 1] = textBytes(v);
      } else {
        shape[i] = PLAIN;
        params[i + 1] = v;
      }
    }
    this.#conn.run(this.#insertSql(shape.join('')), params);
  }

  #insertSql(shape: string): string {
    let sql = this.#inserts.get(shape);
    if (!sql) {
      const slots = Array.from(shape, (s) => (s === REAL ? ', CAST(? AS REAL)' : s === TEXT ? ', CAST(? AS TEXT)' : ', ?'));
      sql = `${this.#into}${slots.join('')})`;
      this.#inserts.set(shape, sql);
    }
    return sql;
  }
}
