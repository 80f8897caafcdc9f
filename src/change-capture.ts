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

const LOG_TABLE = 'temp.aos_touched';

/**
 * Records which rows each write transaction touched, with temp triggers on every table, and
 * turns them into the rows' final images at commit. Triggers (unlike the update hook) also
 * fire for DELETE without WHERE, for cascaded deletes, and, with recursive_triggers on, for
 * rows removed by INSERT OR REPLACE. Replaying final images is idempotent, so replaying a
 * record on a state that already holds it changes nothing.
 */
export class ChangeCapture {
  readonly #conn: Connection;
  #columns = new Map<string, string[]>();

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** (Re)creates the triggers for the current schema; refuses tables it cannot journal. */
  install(): void {
    const conn = this.#conn;
    for (const { name } of conn.all("SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE 'aos_capture_%'")) {
      conn.exec(`DROP TRIGGER temp."${String(name)}"`);
    }
    conn.exec(
      `CREATE TEMP TABLE IF NOT EXISTS aos_touched (tbl TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (tbl, rid)) WITHOUT ROWID`,
    );
    this.#columns = new Map();
    for (const table of journaledTables(conn)) {
      const t = quoteIdent(table);
      const name = sqlString(table);
      const trigger = (suffix: string) => quoteIdent(`aos_capture_${table}_${suffix}`);
      // Not INSERT OR IGNORE: inside a trigger the outer statement's conflict policy (an
      // UPSERT's, say) overrides the trigger's own, so the insert must never conflict.
      const touch = (rowid: string) =>
        `INSERT INTO ${LOG_TABLE} SELECT ${name}, ${rowid} WHERE NOT EXISTS ` +
        `(SELECT 1 FROM ${LOG_TABLE} WHERE tbl = ${name} AND rid = ${rowid});`;
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
    const conn = this.#conn;
    const touched = conn.rawRows(`SELECT tbl, rid FROM ${LOG_TABLE} ORDER BY tbl, rid`);
    if (touched.length === 0) return null;
    conn.run(`DELETE FROM ${LOG_TABLE}`);
    const tables: TableChanges[] = [];
    let current: { table: string; columns: string[]; deletes: bigint[]; upserts: [bigint, CellValue[]][] } | undefined;
    for (const [tbl, rid] of touched as [string, bigint][]) {
      if (current?.table !== tbl) {
        const columns = this.#columns.get(tbl);
        if (!columns) throw new StoreError('CORRUPT', `change capture has no columns for table '${tbl}'`);
        current = { table: tbl, columns, deletes: [], upserts: [] };
        tables.push(current);
      }
      const row = conn.rawRows(selectRowSql(tbl, current.columns), [rid])[0];
      if (row) current.upserts.push([rid, row]);
      else current.deletes.push(rid);
    }
    const names = tables.map((t) => t.table);
    const sequences = conn
      .rawRows(`SELECT name, seq FROM main.sqlite_sequence WHERE name IN (${names.map(() => '?').join(',')})`, names)
      .map(([name, seq]) => [String(name), BigInt(seq as bigint)] as const);
    return { tables, sequences };
  }

  /** Forgets touched rows of a transaction that was rolled back instead of committed. */
  discard(): void {
    this.#conn.run(`DELETE FROM ${LOG_TABLE}`);
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
