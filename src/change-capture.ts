import type { CellValue, Connection } from './connection.js';
import { StoreError } from './errors.js';

/** The net effect of one committed transaction on one table. */
export interface TableChanges {
  readonly table: string;
  /** Column names, in the order of each upsert's values. */
  readonly columns: readonly string[];
  /** Rowids that no longer exist. */
  readonly deletes: readonly bigint[];
  /** Rows as they are after the transaction: rowid, then one value per column. */
  readonly upserts: readonly (readonly [bigint, readonly CellValue[]])[];
}

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
  /** Table to touched rowids (numbers, or text beyond 2^53). */
  #touched = new Map<string, Set<number | string>>();

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** (Re)creates the triggers for the current schema; refuses tables it cannot journal. */
  install(): void {
    const conn = this.#conn;
    conn.db.create_function(TOUCH_FUNCTION, (table: unknown, rowid: unknown) => {
      const name = String(table);
      let rows = this.#touched.get(name);
      if (!rows) {
        rows = new Set();
        this.#touched.set(name, rows);
      }
      rows.add(rowid as number | string);
      return null;
    });
    for (const { name } of conn.all("SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE 'aos_capture_%'")) {
      conn.exec(`DROP TRIGGER temp.${quoteIdent(String(name))}`);
    }
    this.#columns = new Map();
    for (const table of journaledTables(conn)) {
      const t = quoteIdent(table);
      const name = sqlString(table);
      const trigger = (suffix: string) => quoteIdent(`aos_capture_${table}_${suffix}`);
      const touch = (rowid: string) => `SELECT ${TOUCH_FUNCTION}(${name}, ${exactRowid(rowid)});`;
      conn.exec(
        `CREATE TEMP TRIGGER ${trigger('ins')} AFTER INSERT ON main.${t} BEGIN ${touch('NEW.rowid')} END;` +
          `CREATE TEMP TRIGGER ${trigger('upd')} AFTER UPDATE ON main.${t} BEGIN ${touch('OLD.rowid')} ${touch('NEW.rowid')} END;` +
          `CREATE TEMP TRIGGER ${trigger('del')} AFTER DELETE ON main.${t} BEGIN ${touch('OLD.rowid')} END;`,
      );
      this.#columns.set(table, columnsOf(conn, table));
    }
  }

  /** The net changes of the open transaction, and forgets them; null when nothing changed. */
  collect(): ChangeSet | null {
    if (this.#touched.size === 0) return null;
    const conn = this.#conn;
    const tables: TableChanges[] = [];
    for (const table of [...this.#touched.keys()].sort()) {
      const columns = this.#columns.get(table);
      if (!columns) throw new StoreError('CORRUPT', `change capture has no columns for table '${table}'`);
      const select = selectRowSql(table, columns);
      const deletes: bigint[] = [];
      const upserts: [bigint, CellValue[]][] = [];
      for (const touched of this.#touched.get(table)!) {
        const rowid = BigInt(touched);
        const row = conn.rawRows(select, [rowid])[0];
        if (row) upserts.push([rowid, row]);
        else deletes.push(rowid);
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

/** SELECT of one row's values by rowid, in `columns` order. */
export function selectRowSql(table: string, columns: readonly string[]): string {
  return `SELECT ${columns.map(quoteIdent).join(', ')} FROM main.${quoteIdent(table)} WHERE rowid = ?`;
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
