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
 * Rows per multi-row INSERT: 50 rows a statement took ~45% less CPU than one (10,000 tool calls
 * into the bench's store); kept under SQLite's historic limit of 999 bound values.
 */
const BATCH_ROWS = 50;
const MAX_VALUES = 999;

/**
 * Applies commit records to the database, inside the caller's transaction and with foreign
 * keys off: records hold final row images (cascades already appear as deletes), so this is a
 * physical redo, not a re-run of the statements. Deletes go first, then upserts; an upsert
 * that collides on a UNIQUE key with a row the same record rewrites later is fixed by then.
 * Every table's statements are built once per replay (one per way its values are bound) and
 * stay prepared in the connection's cache. Consecutive upserts of one table bound the same way,
 * within a record or across records, go up to BATCH_ROWS at a time in one multi-row INSERT: the
 * same rows in the same order (SQLite inserts a VALUES list row by row), for a fraction of the
 * statement runs and JS-to-wasm calls. Anything else (a delete, another table, another binding,
 * the end) first writes what is pending, so every change still lands in log order.
 */
export function replayRecords(conn: Connection, records: readonly ReplayRecord[]): void {
  const tables = new Map<string, TableReplay>();
  const sequences = new Map<string, bigint>();
  let current: TableReplay | null = null;
  for (const record of records) {
    for (const change of record.changes.tables) {
      let table = tables.get(change.table);
      if (!table) {
        table = new TableReplay(conn, change.table, record.seq);
        tables.set(change.table, table);
      }
      if (current !== table) current?.flush();
      current = table;
      table.check(change.columns, record.seq);
      if (change.deletes.length > 0) {
        table.flush();
        for (const rowid of change.deletes) conn.run(table.deleteSql, [rowid]);
      }
      for (const [rowid, values] of change.upserts) table.upsert(rowid, values);
    }
    for (const [name, seq] of record.changes.sequences) sequences.set(name, seq);
  }
  current?.flush();
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
  readonly #batchRows: number;
  /** The pending rows' values, row after row: rowid, then one value per column. */
  readonly #batch: (CellValue | null)[];
  readonly #row: (CellValue | null)[];
  readonly #shape: string[];
  #pending = 0;
  #pendingShape = '';

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
    this.#into = `INSERT OR REPLACE INTO ${table} (rowid, ${this.#columns.map(quoteIdent).join(', ')}) VALUES`;
    const width = this.#columns.length + 1;
    this.#batchRows = Math.max(1, Math.min(BATCH_ROWS, Math.floor(MAX_VALUES / width)));
    this.#batch = new Array(this.#batchRows * width).fill(null);
    this.#row = new Array(width).fill(null);
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

  /** Writes one row image at its rowid, now or with the batch it joins (see flush). */
  upsert(rowid: bigint, values: readonly ReplayValue[]): void {
    const shape = this.#shape;
    const width = values.length + 1;
    if (this.#pending === this.#batchRows) this.flush();
    const at = this.#pending * width;
    const batch = this.#batch;
    batch[at] = rowid;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (typeof v === 'number' && Number.isInteger(v)) {
        // sql.js binds a JS number with no fraction (1.0, -0.0) as INTEGER: cast such REALs back.
        shape[i] = REAL;
        batch[at + i + 1] = v;
      } else if (v instanceof Utf8Text) {
        shape[i] = TEXT;
        batch[at + i + 1] = v.bytes;
      } else if (typeof v === 'string' && v.length > LONG_TEXT) {
        shape[i] = TEXT;
        batch[at + i + 1] = textBytes(v);
      } else {
        shape[i] = PLAIN;
        batch[at + i + 1] = v;
      }
    }
    const key = shape.join('');
    if (this.#pending > 0 && key !== this.#pendingShape) {
      // Bound another way than the rows before it: those go first, then this one starts a batch.
      const row = batch.slice(at, at + width);
      this.flush();
      for (let i = 0; i < width; i++) batch[i] = row[i]!;
    }
    this.#pendingShape = key;
    this.#pending++;
  }

  /** Writes the pending rows: in one statement when the batch is full, else one by one. */
  flush(): void {
    const pending = this.#pending;
    if (pending === 0) return;
    this.#pending = 0;
    const shape = this.#pendingShape;
    if (pending === this.#batchRows) {
      this.#conn.run(this.#insertSql(shape, pending), this.#batch);
      return;
    }
    const width = this.#columns.length + 1;
    const row = this.#row;
    const sql = this.#insertSql(shape, 1);
    for (let r = 0; r < pending; r++) {
      for (let i = 0; i < width; i++) row[i] = this.#batch[r * width + i]!;
      this.#conn.run(sql, row);
    }
  }

  #insertSql(shape: string, rows: number): string {
    const key = `${rows}:${shape}`;
    let sql = this.#inserts.get(key);
    if (!sql) {
      const slots = Array.from(shape, (s) => (s === REAL ? ', CAST(? AS REAL)' : s === TEXT ? ', CAST(? AS TEXT)' : ', ?'));
      const tuple = `(?${slots.join('')})`;
      sql = `${this.#into} ${Array.from({ length: rows }, () => tuple).join(', ')}`;
      this.#inserts.set(key, sql);
    }
    return sql;
  }
}
