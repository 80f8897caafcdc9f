import { messageOf, StoreError } from './errors.js';
import type { BindParams, SqlJsDatabase as Database, SqlValue, SqlJsStatement as Statement } from './sql-js.js';

/** A value SQLite stores: what the journal captures and replays. */
export type CellValue = null | bigint | number | string | Uint8Array;

/** A row as a plain object, column name to value. */
export type Row = Record<string, SqlValue>;

/**
 * Where the images of rows a repository inserts go (change capture), so that they need not be
 * read back from SQLite at commit.
 */
export interface RowImageSink {
  /** The row `rowid` of `table` was just inserted by one statement that bound `values` to `columns`. */
  inserted(table: string, rowid: number, columns: readonly string[], values: readonly SqlValue[]): void;
  /** A savepoint was rolled back: rows inserted since may be gone. */
  rolledBack(): void;
}

/**
 * The store's one handle on its sql.js Database: cached prepared statements, bound
 * parameters only, and sql.js errors turned into StoreErrors.
 */
export class Connection {
  readonly db: Database;
  readonly #statements = new Map<string, Statement>();
  // Statements kept open between store calls (store.iterate), with who holds them and what to
  // tell them when the connection ends them.
  readonly #held = new Map<Statement, { readonly owner: object | null; readonly ended: (why: string) => void }>();

  #images: RowImageSink | null = null;

  constructor(db: Database) {
    this.db = db;
  }

  /** Sends what `insertedRow` is told to `sink` from now on (null: nowhere). */
  setRowImageSink(sink: RowImageSink | null): void {
    this.#images = sink;
  }

  /**
   * Tells change capture that the statement just run inserted row `rowid` of `table` with
   * `values` bound to `columns` (TEXT bound as UTF-8 bytes given as its string). Capture keeps
   * the image only when it is exactly what SQLite stored; otherwise it reads the row back.
   */
  insertedRow(table: string, rowid: number, columns: readonly string[], values: readonly SqlValue[]): void {
    this.#images?.inserted(table, rowid, columns, values);
  }

  /** Rolls back to `savepoint` and releases it: every change since it was opened is undone. */
  rollbackTo(savepoint: string): void {
    try {
      this.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
    } finally {
      this.#images?.rolledBack();
    }
  }

  /** Runs a statement that returns no rows; gives the number of rows it changed. */
  run(sql: string, params: BindParams = []): number {
    return this.#step(sql, params, (statement) => {
      statement.step();
      return this.db.getRowsModified();
    });
  }

  /** All rows of a query, as plain objects. */
  all(sql: string, params: BindParams = []): Row[] {
    return this.#step(sql, params, (statement) => {
      const rows: Row[] = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    });
  }

  /** The first row of a query, or undefined. */
  get(sql: string, params: BindParams = []): Row | undefined {
    return this.#step(sql, params, (statement) => (statement.step() ? statement.getAsObject() : undefined));
  }

  /** Rows as value arrays with integers as BigInt, so INTEGER and REAL stay apart (journal use). */
  rawRows(sql: string, params: BindParams = []): CellValue[][] {
    return this.#step(sql, params, (statement) => {
      const rows: CellValue[][] = [];
      while (statement.step()) rows.push(statement.get(null, { useBigInt: true }) as CellValue[]);
      return rows;
    });
  }

  /**
   * Prepares the first statement of `sql` as SQLite splits it, uncached, and says whether
   * another statement follows. The caller frees the statement.
   */
  prepareFirst(sql: string): { statement: Statement | null; more: boolean } {
    let statement: Statement | null = null;
    try {
      const statements = this.db.iterateStatements(sql);
      const first = statements.next();
      if (first.done) return { statement: null, more: false };
      statement = first.value;
      // The iterator frees a statement when it moves past it: look for a second one with
      // another iterator over the rest, so the first stays usable.
      const rest = this.db.iterateStatements(statements.getRemainingSQL()).next();
      if (!rest.done) rest.value.free();
      return { statement, more: !rest.done };
    } catch (error) {
      statement?.free();
      throw sqlError(error, sql);
    }
  }

  /** All rows of a statement prepared for this one call (not cached). */
  rowsOnce(sql: string): Row[] {
    let statement: Statement | undefined;
    try {
      statement = this.db.prepare(sql);
      const rows: Row[] = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } catch (error) {
      throw sqlError(error, sql);
    } finally {
      statement?.free();
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

  /**
   * Keeps `statement` open across store calls until the returned release is called or the
   * connection ends it (`endHeld`, `close`), which frees it and calls `ended` with why.
   */
  hold(statement: Statement, ended: (why: string) => void, owner: object | null = null): () => void {
    this.#held.set(statement, { owner, ended });
    return () => {
      if (this.#held.delete(statement)) statement.free();
    };
  }

  /**
   * Frees the held statements (of `owner` only, when given) and tells their holders why.
   * SQLite refuses DROP and VACUUM while any statement is mid-way, so they run after this.
   */
  endHeld(why: string, owner?: object): void {
    for (const [statement, holder] of this.#held) {
      if (owner !== undefined && holder.owner !== owner) continue;
      this.#held.delete(statement);
      statement.free();
      holder.ended(why);
    }
  }

  /** Frees cached statements; needed after the schema of a cached statement's table changed. */
  clearStatements(): void {
    for (const statement of this.#statements.values()) statement.free();
    this.#statements.clear();
  }

  /** Frees everything and closes the database. */
  close(): void {
    this.endHeld('the store closed or reloaded its durable state');
    this.clearStatements();
    this.db.close();
  }

  /** Binds `params` to the cached statement for `sql`, runs `fn`, and always resets it. */
  #step<T>(sql: string, params: BindParams, fn: (statement: Statement) => T): T {
    const statement = this.#prepare(sql);
    try {
      statement.bind(params);
      return fn(statement);
    } catch (error) {
      throw sqlError(error, sql);
    } finally {
      statement.reset();
    }
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
