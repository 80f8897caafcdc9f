import { type Connection, type Row, sqlError } from './connection.js';
import { StoreError } from './errors.js';
import { checkSettings, classifyStatement, readSettings, rememberKind, type StatementKind } from './sql-guard.js';
import type { BindParams, SqlValue } from './sql-js.js';
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

/**
 * Runs one statement with bound parameters inside the caller's transaction; its rows as plain
 * objects. The statement must pass the guard (see sql-guard.ts); VACUUM is refused here, as it
 * cannot run inside a transaction (`store.query` runs it on its own path).
 */
export function runQuery(conn: Connection, sql: string | QueryRequest, params?: QueryParams): Row[] {
  const request = typeof sql === 'string' ? queryRequest(sql, params) : sql;
  return guarded(conn, request.sql, (kind, statement) => {
    if (kind === 'vacuum') throw new StoreError('INVALID_INPUT', 'VACUUM cannot run inside a transaction');
    try {
      statement.bind(request.params);
      const rows: Row[] = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } catch (error) {
      throw sqlError(error, request.sql);
    }
  });
}

/**
 * Prepares the one statement of `sql`, has the guard judge it, runs `use`, and checks the
 * settings the store relies on after preparing and after running (setting them back and
 * refusing the query when one changed).
 */
function guarded<T>(
  conn: Connection,
  sql: string,
  use: (kind: StatementKind, statement: NonNullable<ReturnType<Connection['prepareFirst']>['statement']>) => T,
): T {
  const before = readSettings(conn);
  let statement: ReturnType<Connection['prepareFirst']>['statement'] = null;
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
    return result;
  } finally {
    statement?.free();
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
