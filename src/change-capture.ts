import type { CellValue, Connection } from './connection.js';
import { StoreError } from './errors.js';

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
 */
export class ChangeCapture {
  readonly #conn: Connection;
  #columns = new Map<string, string[]>();
  /** Per table, the SELECT of one row's image plus the UTF-8 byte count of its TEXT values. */
  #selects = new Map<string, string>();
  /**
   * Table to touched rowids (numbers, or text beyond 2^53), each with whether the row existed when
   * the transaction began. The first trigger to touch a row tells: nothing changed that rowid
   * before it, and a rolled-back savepoint only ever returns a row to an earlier state.
   */
  #touched = new Map<string, Map<number | string, boolean>>();

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** (Re)creates the triggers for the current schema; refuses tables it cannot journal. */
  install(): void {
    const conn = this.#conn;
    conn.db.create_function(TOUCH_FUNCTION, (table: unknown, rowid: unknown, existed: unknown) => {
      const name = String(table);
      let rows = this.#touched.get(name);
      if (!rows) {
        rows = new Map();
        this.#touched.set(name, rows);
      }
      const key = rowid as number | string;
      if (!rows.has(key)) rows.set(key, existed === 1);
      return null;
    });
    for (const { name } of conn.all("SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE 'aos_capture_%'")) {
      conn.exec(`DROP TRIGGER temp.${quoteIdent(String(name))}`);
    }
    this.#columns = new Map();
    this.#selects = new Map();
    for (const table of journaledTables(conn)) {
      const t = quoteIdent(table);
      const name = sqlString(table);
      const trigger = (suffix: string) => quoteIdent(`aos_capture_${table}_${suffix}`);
      const touch = (rowid: string, existed: string) => `SELECT ${TOUCH_FUNCTION}(${name}, ${exactRowid(rowid)}, ${existed});`;
      // An UPDATE that moves a row to a new rowid creates that rowid (a row already there would
      // have been deleted first, by REPLACE, and touched then).
      conn.exec(
        `CREATE TEMP TRIGGER ${trigger('ins')} AFTER INSERT ON main.${t} BEGIN ${touch('NEW.rowid', '0')} END;` +
          `CREATE TEMP TRIGGER ${trigger('upd')} AFTER UPDATE ON main.${t} BEGIN ${touch('OLD.rowid', '1')} ` +
          `${touch('NEW.rowid', 'NEW.rowid = OLD.rowid')} END;` +
          `CREATE TEMP TRIGGER ${trigger('del')} AFTER DELETE ON main.${t} BEGIN ${touch('OLD.rowid', '1')} END;`,
      );
      const columns = columnsOf(conn, table);
      this.#columns.set(table, columns);
      this.#selects.set(table, checkedRowSql(table, columns));
    }
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
      for (const [touched, existed] of this.#touched.get(table)!) {
        const rowid = BigInt(touched);
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
    const sequences = conn
      .rawRows(`SELECT name, seq FROM main.sqlite_sequence WHERE name IN (${names.map(() => '?').join(',')})`, names)
      .map(([name, seq]) => [String(name), BigInt(seq as bigint)] as const);
    this.discard();
    return { tables, sequences };
  }

  /** Forgets the touched rows of a transaction that was rolled back instead of committed. */
  discard(): void {
    this.#touched = new Map();
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
