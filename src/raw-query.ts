import { type Connection, type Row, sqlError } from './connection.js';
import { StoreError } from './errors.js';
import { checkSettings, classifyStatement, readSettings, rememberKind, type StatementKind } from './sql-guard.js';
import type { BindParams, SqlValue, SqlJsStatement as Statement } from './sql-js.js';
import { describe, isWellFormed, requireString } from './validate.js';

/** Values `store.query` binds: booleans become 1 and 0. */
export type QueryValue = null | number | bigint | string | boolean | Uint8Array;

/** Positional (array) or named (`{ ':name': value }`) parameters of `store.query`. */
export type QueryParams = readonly QueryValue[] | Readonly<Record<string, QueryValue>>;

/** A `store.query` call checked before it reaches the database: its SQL text and bound values. */
export interface QueryRequest {
  readonly sql: string;
  readonly params: BindParams;
}

/**
 * Checks what can be checked without the database: SQL is a non-empty, well-formed string (a
 * lone UTF-16 surrogate would be stored as bytes that read back differently), and every
 * parameter can be bound exactly.
 */
export function queryRequest(sql: unknown, params: QueryParams | undefined): QueryRequest {
  if (typeof sql !== 'string' || sql.trim().length === 0) {
    throw new StoreError('INVALID_INPUT', `query must be a non-empty SQL string, got ${describe(sql)}`);
  }
  if (!isWellFormed(sql)) throw new StoreError('INVALID_INPUT', 'query SQL holds a lone UTF-16 surrogate (a cut character)');
  return { sql, params: bindable(params) };
}

/**
 * What kind of statement `sql` is, decided by SQLite inside a transaction that is rolled
 * back: preparing a statement can already change settings, and outside a transaction some
 * (temp_store) would drop the store's change capture. Throws INVALID_INPUT for SQL the store
 * refuses.
 */
export function probeQuery(conn: Connection, request: QueryRequest): StatementKind {
  conn.run('BEGIN');
  try {
    const kind = guarded(conn, request.sql, (judged) => judged);
    rememberKind(request.sql, kind);
    return kind;
  } finally {
    conn.exec('ROLLBACK');
  }
}

/** What `store.run` resolves with: as better-sqlite3's `run()` gives it. */
export interface RunResult {
  /** Rows the statement inserted, updated or deleted itself (not those of triggers or cascades); 0 for anything else. */
  readonly changes: number;
  /**
   * SQLite's `last_insert_rowid()` after the statement: the rowid of the last row inserted on
   * the store's connection, so after a statement that inserted nothing, an earlier insert's.
   * A number, or a bigint beyond ±(2^53 - 1), where a number would lose digits.
   */
  readonly lastInsertRowid: number | bigint;
}

/**
 * Runs one statement with bound parameters inside the caller's transaction; its rows as plain
 * objects. The statement must pass the guard (see sql-guard.ts); VACUUM is refused here, as it
 * cannot run inside a transaction (`store.query` runs it on its own path).
 */
export function runQuery(conn: Connection, sql: string | QueryRequest, params?: QueryParams): Row[] {
  const request = typeof sql === 'string' ? queryRequest(sql, params) : sql;
  return execute(conn, request, (statement) => {
    const rows: Row[] = [];
    while (statement.step()) rows.push(statement.getAsObject());
    return rows;
  });
}

/** Like runQuery, but steps through any rows without keeping them and says what changed. */
export function runStatement(conn: Connection, request: QueryRequest): RunResult {
  return execute(conn, request, (statement) => {
    const before = totalChanges(conn);
    while (statement.step());
    // changes() keeps the count of the last INSERT, UPDATE or DELETE that ran: a statement
    // that changed nothing (a SELECT, DDL, an UPDATE matching no row) must not report it.
    const changes = totalChanges(conn) === before ? 0 : conn.db.getRowsModified();
    return { changes, lastInsertRowid: lastInsertRowid(conn) };
  });
}

/** The connection's `last_insert_rowid()`, as a number while that is exact. */
export function lastInsertRowid(conn: Connection): number | bigint {
  const value = conn.rawRows('SELECT last_insert_rowid()')[0]![0] as bigint;
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function totalChanges(conn: Connection): bigint {
  return conn.rawRows('SELECT total_changes()')[0]![0] as bigint;
}

/**
 * Prepares a read for `store.iterate`, bound and ready to step, and leaves it open: the caller
 * frees it. Refuses with INVALID_INPUT a statement that writes (rows, the schema, VACUUM). Run
 * it inside a transaction, as the guard needs (see probeQuery).
 */
export function openCursor(conn: Connection, request: QueryRequest, what: string): Statement {
  return guarded(
    conn,
    request.sql,
    (kind, statement) => {
      if (kind !== 'read') {
        throw new StoreError('INVALID_INPUT', `${what} runs reads only, and this statement writes: use store.run() or store.query()`);
      }
      try {
        statement.bind(request.params);
      } catch (error) {
        throw sqlError(error, request.sql);
      }
      return statement;
    },
    true,
  );
}

/** Up to `size` more rows of an open cursor; fewer once it is exhausted. */
export function readBatch(statement: Statement, size: number, sql: string): Row[] {
  const rows: Row[] = [];
  try {
    while (rows.length < size && statement.step()) rows.push(statement.getAsObject());
  } catch (error) {
    throw sqlError(error, sql);
  }
  return rows;
}

/** Runs a statement the guard let through; a schema change first ends the open store.iterate statements, which would block it. */
function execute<T>(conn: Connection, request: QueryRequest, step: (statement: Statement) => T): T {
  return guarded(conn, request.sql, (kind, statement) => {
    if (kind === 'vacuum') throw new StoreError('INVALID_INPUT', 'VACUUM cannot run inside a transaction');
    if (kind === 'schema') conn.endHeld('a schema change ran between its batches');
    try {
      statement.bind(request.params);
      return step(statement);
    } catch (error) {
      throw sqlError(error, request.sql);
    }
  });
}

/**
 * Prepares the one statement of `sql`, has the guard judge it, runs `use`, and checks the
 * settings the store relies on after preparing and after running (setting them back and
 * refusing the query when one changed). With `keep`, a statement `use` returned is not freed.
 */
function guarded<T>(conn: Connection, sql: string, use: (kind: StatementKind, statement: Statement) => T, keep = false): T {
  const before = readSettings(conn);
  let statement: Statement | null = null;
  let kept = false;
  try {
    const first = conn.prepareFirst(sql);
    statement = first.statement;
    checkSettings(conn, before);
    if (!statement) throw new StoreError('INVALID_INPUT', 'query holds no SQL statement');
    if (first.more) throw new StoreError('INVALID_INPUT', 'query must be a single statement; run several with store.transaction()');
    const kind = classifyStatement(conn, statement.getSQL(), statement.getNormalizedSQL());
    checkSettings(conn, before);
    const result = use(kind, statement);
    checkSettings(conn, before);
    kept = keep;
    return result;
  } finally {
    if (!kept) statement?.free();
  }
}

function bindable(params: QueryParams | undefined): BindParams {
  if (params === undefined) return [];
  const convert = (value: unknown, name: string): SqlValue => {
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value === 'string') return requireString(`query parameter ${name}`, value);
    if (value === null || typeof value === 'number' || typeof value === 'bigint' || value instanceof Uint8Array) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new StoreError('INVALID_INPUT', `query parameter ${name} must be finite, got ${value}`);
      }
      return value as SqlValue;
    }
    throw new StoreError('INVALID_INPUT', `query parameter ${name} cannot be bound: ${describe(value)}`);
  };
  if (Array.isArray(params)) return params.map((v, i) => convert(v, String(i + 1)));
  if (typeof params !== 'object' || params === null) {
    throw new StoreError('INVALID_INPUT', `query parameters must be an array or an object, got ${describe(params)}`);
  }
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, convert(v, `'${k}'`)]));
}
