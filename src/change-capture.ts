import type { CellValue, Connection, RowImageSink } from './connection.js';
import { StoreError } from './errors.js';
import type { SqlValue } from './sql-js.js';
import { isWellFormed } from './validate.js';

/** The net effect of one committed transaction on one table. */
export interface TableChanges {
  readonly table: string;
  /** Column names, in the order of each upsert's values. */
  readonly columns: readonly string[];
  /** Rowids that no longer exist (in format 3 records, only rows that existed before the transaction). */
  readonly deletes: readonly bigint[];
  /**
   * Rows as they are after the transaction: rowid, one value per column, and whether the row is
   * new or was there before (absent in records written before format 3).
   */
  readonly upserts: readonly (readonly [bigint, readonly CellValue[], RowOp?])[];
}

/** Whether a row that exists after a transaction is new, or was there before it. */
export type RowOp = 'insert' | 'update';

/** Everything one transaction changed: row images per table, and AUTOINCREMENT counters. */
export interface ChangeSet {
  readonly tables: readonly TableChanges[];
  /** sqlite_sequence entries of the touched tables, as they are after the transaction. */
  readonly sequences: readonly (readonly [string, bigint])[];
}

const TOUCH_FUNCTION = 'aos_touch';
// sql.js hands integer arguments to JS functions as doubles: rowids beyond 2^53 go as text.
const exactRowid = (rowid: string) => `CASE WHEN abs(${rowid}) < 9007199254740992 THEN ${rowid} ELSE CAST(${rowid} AS TEXT) END`;

/**
 * Records which rows each write transaction touched, with temp triggers on every table that
 * call a JS function, and turns them into the rows' final images at commit. Triggers (unlike
 * the update hook) also fire for DELETE without WHERE, for cascaded deletes, and, with
 * recursive_triggers on, for rows removed by INSERT OR REPLACE.
 *
 * The set of touched rows may be a superset: a statement or savepoint that is rolled back
 * leaves its rows in it. That is harmless, because each row is re-read at commit: a row that
 * does not exist becomes a delete, one that does becomes an image of what it holds, and
 * replaying either on a state that already has it changes nothing. Only a full ROLLBACK must
 * `discard()`.
 *
 * A row a repository inserts is not re-read when the repository tells its image (see
 * `Connection.insertedRow`, and `inserted` below for when an image is kept): the re-read was a
 * fifth of a durable write's CPU. A kept image is dropped again the moment anything touches the
 * row, and every image is dropped when a savepoint rolls back, so what remains is what the row
 * holds at commit.
 */
export class ChangeCapture implements RowImageSink {
  readonly #conn: Connection;
  #columns = new Map<string, string[]>();
  /** Per table, the SELECT of one row's image plus the UTF-8 byte count of its TEXT values. */
  #selects = new Map<string, string>();
  /** Per table, each column's type affinity and whether it is the rowid, for row images. */
  #layouts = new Map<string, TableLayout>();
  /**
   * Table to touched rowids (numbers, or text beyond 2^53), each with whether the row existed when
   * the transaction began. The first trigger to touch a row tells: nothing changed that rowid
   * before it, and a rolled-back savepoint only ever returns a row to an earlier state.
   */
  #touched = new Map<string, Map<number | string, boolean>>();
  /** Table to rowid to the row's image, for rows a repository inserted and nothing touched since. */
  #images = new Map<string, Map<number | string, CellValue[]>>();
  // The last trigger call: which row, and whether it was an INSERT of a row not touched before in
  // this transaction. An image is kept only for that row, so no other trigger ran after it.
  #lastTable = '';
  #lastRowid: number | string = 0;
  #lastFreshInsert = false;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** (Re)creates the triggers for the current schema; refuses tables it cannot journal. */
  install(): void {
    const conn = this.#conn;
    // `how`: 1 the row existed before this statement, 0 it did not, INSERTED it was just inserted.
    conn.db.create_function(TOUCH_FUNCTION, (table: unknown, rowid: unknown, how: unknown) => {
      const name = table as string;
      let rows = this.#touched.get(name);
      if (!rows) {
        rows = new Map();
        this.#touched.set(name, rows);
      }
      const key = rowid as number | string;
      const fresh = !rows.has(key);
      if (fresh) rows.set(key, how === 1);
      // Touched again: whatever image was told no longer tells what the row holds.
      else if (this.#images.size > 0) this.#images.get(name)?.delete(key);
      this.#lastTable = name;
      this.#lastRowid = key;
      this.#lastFreshInsert = fresh && how === INSERTED;
      return null;
    });
    conn.setRowImageSink(this);
    for (const { name } of conn.all("SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE 'aos_capture_%'")) {
      conn.exec(`DROP TRIGGER temp.${quoteIdent(String(name))}`);
    }
    this.#columns = new Map();
    this.#selects = new Map();
    this.#layouts = new Map();
    this.discard();
    for (const table of journaledTables(conn)) {
      const t = quoteIdent(table);
      const name = sqlString(table);
      const trigger = (suffix: string) => quoteIdent(`aos_capture_${table}_${suffix}`);
      const touch = (rowid: string, existed: string) => `SELECT ${TOUCH_FUNCTION}(${name}, ${exactRowid(rowid)}, ${existed});`;
      // An UPDATE that moves a row to a new rowid creates that rowid (a row already there would
      // have been deleted first, by REPLACE, and touched then).
      conn.exec(
        `CREATE TEMP TRIGGER ${trigger('ins')} AFTER INSERT ON main.${t} BEGIN ${touch('NEW.rowid', String(INSERTED))} END;` +
          `CREATE TEMP TRIGGER ${trigger('upd')} AFTER UPDATE ON main.${t} BEGIN ${touch('OLD.rowid', '1')} ` +
          `${touch('NEW.rowid', 'NEW.rowid = OLD.rowid')} END;` +
          `CREATE TEMP TRIGGER ${trigger('del')} AFTER DELETE ON main.${t} BEGIN ${touch('OLD.rowid', '1')} END;`,
      );
      const columns = columnsOf(conn, table);
      this.#columns.set(table, columns);
      this.#selects.set(table, checkedRowSql(table, columns));
      this.#layouts.set(table, tableLayout(conn, table, columns));
    }
  }

  /**
   * Keeps the image of a row a repository just inserted, built from the values it bound, when
   * it is exactly what re-reading the row would give: the insert was the last trigger call and
   * the first touch of that row in this transaction (so no trigger of the schema's own changed
   * it or anything after it), every column is bound or is the rowid (no DEFAULT), and each value
   * keeps its form under the column's type affinity (see `storedValue`). Otherwise the row is
   * read back at commit as before.
   */
  inserted(table: string, rowid: number, columns: readonly string[], values: readonly SqlValue[]): void {
    if (!this.#lastFreshInsert || this.#lastRowid !== rowid || this.#lastTable !== table) return;
    this.#lastFreshInsert = false;
    const layout = this.#layouts.get(table);
    if (!layout) return;
    const sources = layout.sourcesFor(columns);
    if (!sources) return;
    const image: CellValue[] = new Array(sources.length);
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i]!;
      if (source < 0) {
        image[i] = BigInt(rowid);
        continue;
      }
      const value = storedValue(values[source]!, layout.affinities[i]!);
      if (value === undefined) return;
      image[i] = value;
    }
    let images = this.#images.get(table);
    if (!images) {
      images = new Map();
      this.#images.set(table, images);
    }
    images.set(rowid, image);
  }

  /** A savepoint rolled back: the rows imaged since may be gone, so every row is read back instead. */
  rolledBack(): void {
    this.#images.clear();
    this.#lastFreshInsert = false;
  }

  /**
   * The net changes of the open transaction, and forgets them; null when nothing changed.
   * Throws INVALID_INPUT, so the caller rolls back, when a row holds TEXT that sql.js cannot
   * read back as stored: the log would hold something else than the database.
   */
  collect(): ChangeSet | null {
    if (this.#touched.size === 0) return null;
    const conn = this.#conn;
    const tables: TableChanges[] = [];
    for (const table of [...this.#touched.keys()].sort()) {
      const columns = this.#columns.get(table);
      const select = this.#selects.get(table);
      if (!columns || !select) throw new StoreError('CORRUPT', `change capture has no columns for table '${table}'`);
      const deletes: bigint[] = [];
      const upserts: [bigint, CellValue[], RowOp][] = [];
      const images = this.#images.get(table);
      for (const [touched, existed] of this.#touched.get(table)!) {
        const rowid = BigInt(touched);
        const image = images?.get(touched);
        if (image) {
          upserts.push([rowid, image, 'insert']);
          continue;
        }
        const row = conn.rawRows(select, [rowid])[0];
        if (row) {
          const storedBytes = Number(row.pop());
          checkTextRoundTrips(conn, table, columns, rowid, row, storedBytes);
          upserts.push([rowid, row, existed ? 'update' : 'insert']);
        } else if (existed) deletes.push(rowid);
        // A row inserted and deleted again within the transaction: nothing to redo or report.
      }
      tables.push({ table, columns, deletes, upserts });
    }
    // Every touched table, not only those with an insert: an UPSERT that takes its DO UPDATE
    // path still advances the AUTOINCREMENT counter, yet fires only the UPDATE trigger.
    const names = tables.map((t) => t.table);
    const sequences = conn.rawRows(sequencesSql(names.length), names).map(([name, seq]) => [String(name), BigInt(seq as bigint)] as const);
    this.discard();
    return { tables, sequences };
  }

  /** Forgets the touched rows of a transaction that was rolled back instead of committed. */
  discard(): void {
    this.#touched = new Map();
    this.#images.clear();
    this.#lastFreshInsert = false;
  }
}

// The SELECT of the AUTOINCREMENT counters of n tables, by n: the same text every commit, so the
// statement cache finds it without a new string to build and hash.
const sequenceSelects: string[] = [];

function sequencesSql(tables: number): string {
  sequenceSelects[tables] ??= `SELECT name, seq FROM main.sqlite_sequence WHERE name IN (${Array(tables).fill('?').join(',')})`;
  return sequenceSelects[tables]!;
}

/** The trigger's `how` for a row an INSERT just created. */
const INSERTED = 2;

/** SQLite's type affinity of a column, from its declared type. */
type Affinity = 'integer' | 'text' | 'blob' | 'real' | 'numeric';

/** What building a row image from bound values needs to know about a table. */
class TableLayout {
  /** The affinity of each column, in `columns` order. */
  readonly affinities: readonly Affinity[];
  readonly #columns: readonly string[];
  readonly #rowidColumn: number;
  // Repositories pass one constant column list per statement: its plan is worked out once.
  readonly #plans = new WeakMap<readonly string[], readonly number[] | null>();

  constructor(columns: readonly string[], affinities: readonly Affinity[], rowidColumn: number) {
    this.#columns = columns;
    this.affinities = affinities;
    this.#rowidColumn = rowidColumn;
  }

  /**
   * For each column, the index of its value in `bound`, or -1 for the rowid; null when a column
   * is neither (it took its DEFAULT, which only a re-read gives exactly).
   */
  sourcesFor(bound: readonly string[]): readonly number[] | null {
    let plan = this.#plans.get(bound);
    if (plan === undefined) {
      const sources = this.#columns.map((column, i) => (i === this.#rowidColumn ? -1 : bound.indexOf(column)));
      plan = sources.some((source, i) => source < 0 && i !== this.#rowidColumn) ? null : sources;
      this.#plans.set(bound, plan);
    }
    return plan;
  }
}

/** Each column's affinity, and which column is an alias of the rowid (-1 when none is). */
function tableLayout(conn: Connection, table: string, columns: readonly string[]): TableLayout {
  const info = conn.all('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid', [table]);
  const affinities = info.map((row) => affinityOf(String(row.type)));
  const keys = info.filter((row) => Number(row.pk) > 0);
  // An INTEGER PRIMARY KEY is the rowid, unless declared in the form SQLite keeps a separate
  // index for (a quirk of `INTEGER PRIMARY KEY DESC`): then the index list shows a 'pk' index.
  const pkIndex = conn.get("SELECT 1 AS yes FROM pragma_index_list(?) WHERE origin = 'pk'", [table]);
  const alias = keys.length === 1 && String(keys[0]!.type).toUpperCase() === 'INTEGER' && !pkIndex;
  return new TableLayout(columns, affinities, alias ? columns.indexOf(String(keys[0]!.name)) : -1);
}

/** SQLite's rules (section 3.1 of "Datatypes In SQLite"), in their order. */
function affinityOf(declared: string): Affinity {
  const type = declared.toUpperCase();
  if (type.includes('INT')) return 'integer';
  if (type.includes('CHAR') || type.includes('CLOB') || type.includes('TEXT')) return 'text';
  if (type.includes('BLOB') || type === '') return 'blob';
  if (type.includes('REAL') || type.includes('FLOA') || type.includes('DOUB')) return 'real';
  return 'numeric';
}

/**
 * The value SQLite stores, as `rawRows` reads it back, for `bound` (bound by sql.js: a number
 * equal to its int32 truncation as INTEGER, any other number as REAL, a string as TEXT) in a
 * column of `affinity`; undefined where only a re-read is sure: a number in a TEXT column or a
 * string in a numeric one (SQLite converts them), non-finite or unsafe numbers, and text that
 * would not read back as given (a leading U+FEFF, a lone surrogate).
 */
function storedValue(bound: SqlValue, affinity: Affinity): CellValue | undefined {
  if (bound === null) return null;
  if (typeof bound === 'string') {
    if (affinity !== 'text' && affinity !== 'blob') return undefined;
    if (bound.charCodeAt(0) === 0xfeff || !isWellFormed(bound)) return undefined;
    return bound;
  }
  if (typeof bound !== 'number' || !Number.isFinite(bound)) return undefined;
  const boundAsInteger = bound === (bound | 0);
  switch (affinity) {
    case 'integer':
    case 'numeric':
      // A REAL that holds an integer exactly is stored as that INTEGER.
      if (!Number.isInteger(bound)) return bound;
      return Number.isSafeInteger(bound) ? BigInt(bound) : undefined;
    case 'real':
      // -0 is bound as the INTEGER 0, which becomes the REAL 0.
      return bound === 0 ? 0 : bound;
    case 'blob':
      return boundAsInteger ? BigInt(bound) : bound;
    default:
      return undefined;
  }
}

/** Tables of the main schema the journal covers; throws for kinds it cannot capture. */
export function journaledTables(conn: Connection): string[] {
  const tables: string[] = [];
  for (const row of conn.all("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main'")) {
    const name = String(row.name);
    if (name.startsWith('sqlite_')) continue;
    if (row.type === 'virtual') {
      throw new StoreError('INVALID_INPUT', `table '${name}' is a virtual table; the journal supports ordinary rowid tables only`);
    }
    if (row.type !== 'table') continue;
    if (row.wr !== 0) {
      throw new StoreError('INVALID_INPUT', `table '${name}' is WITHOUT ROWID; the journal supports ordinary rowid tables only`);
    }
    tables.push(name);
  }
  return tables.sort();
}

/** A table's column names, in declaration order. */
export function columnsOf(conn: Connection, table: string): string[] {
  return conn.all('SELECT name FROM pragma_table_info(?) ORDER BY cid', [table]).map((r) => String(r.name));
}

/** SELECT of one row's values by rowid, in `columns` order, then the UTF-8 byte count of its TEXT values. */
function checkedRowSql(table: string, columns: readonly string[]): string {
  const bytes = columns.map((c) => `iif(typeof(${quoteIdent(c)}) = 'text', octet_length(${quoteIdent(c)}), 0)`).join(' + ');
  return `SELECT ${columns.map(quoteIdent).join(', ')}, ${bytes} FROM main.${quoteIdent(table)} WHERE rowid = ?`;
}

const utf8 = new TextEncoder();

/**
 * sql.js decodes TEXT with a non-fatal TextDecoder: bytes that are not UTF-8 (raw SQL's
 * char(55296), CAST(x'ff' AS TEXT)) come back as U+FFFD, and a leading byte order mark is
 * dropped. Either way the row read here, which the log would carry, is not what SQLite holds.
 * Cheap path: no U+FFFD and the same byte count means the decoding was exact; otherwise
 * compare each text's bytes to find the culprit (a text may hold U+FFFD legitimately).
 */
function checkTextRoundTrips(
  conn: Connection,
  table: string,
  columns: readonly string[],
  rowid: bigint,
  row: readonly CellValue[],
  storedBytes: number,
): void {
  let bytes = 0;
  let replaced = false;
  for (const value of row) {
    if (typeof value !== 'string') continue;
    bytes += utf8Length(value);
    if (!replaced && value.includes('\ufffd')) replaced = true;
  }
  if (bytes === storedBytes && !replaced) return;
  for (let i = 0; i < columns.length; i++) {
    const value = row[i];
    if (typeof value !== 'string') continue;
    const column = columns[i]!;
    const stored = conn.rawRows(`SELECT CAST(${quoteIdent(column)} AS BLOB) FROM main.${quoteIdent(table)} WHERE rowid = ?`, [
      rowid,
    ])[0]?.[0];
    if (!(stored instanceof Uint8Array) || !sameBytes(stored, utf8.encode(value))) {
      throw new StoreError(
        'INVALID_INPUT',
        `${table}.${column} (rowid ${rowid}) would hold text that is not valid UTF-8 or starts with a byte order mark, ` +
          'which SQLite cannot give back as stored; store it as a BLOB',
      );
    }
  }
}

const SCRATCH_CHARS = 21_845;
const scratch = new Uint8Array(SCRATCH_CHARS * 3);

/**
 * The UTF-8 length of text. encodeInto a reused buffer is native and several times faster than
 * a charCodeAt loop on the ~1 KB texts of a typical row; a longer text gets its own buffer, so
 * the kept one stays at 64 KiB.
 */
function utf8Length(text: string): number {
  return text.length <= SCRATCH_CHARS ? utf8.encodeInto(text, scratch).written : utf8.encode(text).length;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
