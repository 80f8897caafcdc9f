import { messageOf, StoreError } from './errors.js';
import type { BindParams, SqlJsDatabase as Database, SqlValue, SqlJsStatement as Statement } from './sql-js.js';

/** A value SQLite stores: what the journal captures and replays. */
export type CellValue = null | bigint | number | string | Uint8Array;

/** A row as a plain object, column name to value. */
export type Row = Record<string, SqlValue>;

/**
 * The store's one handle on its sql.js Database: cached prepared statements, bound
 * parameters only, and sql.js errors turned into StoreErrors.
 */
export class Connection {
  readonly db: Database;
  readonly #statements = new Map<string, Statement>();

  constructor(db: Database) {
    this.db = db;
  }

  /** Runs a statement that returns no rows; gives the number of rows it changed. */
  run(sql: string, params: BindParams = []): number {
    const statement = this.#prepare(sql);
    try {
      statement.bind(params);
      statement.step();
      return this.db.getRowsModified();
    } catch (error) {
      throw sqlError(error, sql);
    } finally {
      statement.reset();
    }
  }

  /** All rows of a query, as plain objects. */
  all(sql: string, params: BindParams = []): Row[] {
    const statement = this.#prepare(sql);
    try {
      statement.bind(params);
      const rows: Row[] = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } catch (error) {
      throw sqlError(error, sql);
    } finally {
      statement.reset();
    }
  }

  /** The first row of a query, or undefined. */
  get(sql: string, params: BindParams = []): Row | undefined {
    const statement = this.#prepare(sql);
    try {
      statement.bind(params);
      return statement.step() ? statement.getAsObject() : undefined;
    } catch (error) {
      throw sqlError(error, sql);
    } finally {
      statement.reset();
    }
  }

  /** Rows as value arrays with integers as BigInt, so INTEGER and REAL stay apart (journal use). */
  rawRows(sql: string, params: BindParams = []): CellValue[][] {
    const statement = this.#prepare(sql);
    try {
      statement.bind(params);
      const rows: CellValue[][] = [];
      while (statement.step()) rows.push(statement.get(null, { useBigInt: true }) as CellValue[]);
      return rows;
    } catch (error) {
      throw sqlError(error, sql);
    } finally {
      statement.reset();
    }
  }

  /** Runs SQL text with no parameters (DDL, pragmas, BEGIN/COMMIT); may hold several statements. */
  exec(sql: string): void {
    try {
      this.db.exec(sql);
    } catch (error) {
      throw sqlError(error, sql);
    }
  }

  /** A single pragma's value. */
  pragma(name: string): SqlValue {
    const row = this.rawRows(`PRAGMA ${name}`)[0];
    return (row?.[0] as SqlValue | undefined) ?? null;
  }

  /** Frees cached statements; needed after the schema of a cached statement's table changed. */
  clearStatements(): void {
    for (const statement of this.#statements.values()) statement.free();
    this.#statements.clear();
  }

  /** Frees everything and closes the database. */
  close(): void {
    this.clearStatements();
    this.db.close();
  }

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      try {
        statement = this.db.prepare(sql);
      } catch (error) {
        throw sqlError(error, sql);
      }
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** Turns an sql.js error into a StoreError, classifying constraint failures. */
export function sqlError(error: unknown, sql: string): StoreError {
  if (error instanceof StoreError) return error;
  const message = messageOf(error);
  const code = /constraint failed/i.test(message) ? 'CONSTRAINT' : 'SQL';
  return new StoreError(code, `${message} (in: ${sql.trim().slice(0, 120)})`, { cause: error });
}

const utf8 = new TextEncoder();

/**
 * A text as UTF-8 bytes, to bind where the SQL says `CAST(? AS TEXT)`. The stored value is
 * the same TEXT; the point is speed: sql.js binds a JS string through a plain array of its
 * bytes (~18 µs for 1 KB here), a Uint8Array with one copy (~3 µs). Used for JSON columns.
 */
export function textBytes(text: string | null): Uint8Array | null {
  return text === null ? null : utf8.encode(text);
}
