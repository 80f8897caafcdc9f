import { type Connection, type Row, sqlError } from './connection.js';
import { StoreError } from './errors.js';
import type { BindParams, SqlValue } from './sql-js.js';
import { describe } from './validate.js';

/** Values `store.query` binds: booleans become 1 and 0. */
export type QueryValue = null | number | bigint | string | boolean | Uint8Array;

/** Positional (array) or named (`{ ':name': value }`) parameters of `store.query`. */
export type QueryParams = readonly QueryValue[] | Readonly<Record<string, QueryValue>>;

/** How `store.query` must run a statement. */
export type QueryKind = 'statement' | 'vacuum';

const FORBIDDEN = /^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|ATTACH|DETACH)\b/i;
// Pragmas that would switch off what durability and integrity rest on.
const GUARDED_PRAGMA =
  /^PRAGMA\s+(?:main\.)?(foreign_keys|recursive_triggers|journal_mode|user_version|schema_version|writable_schema|defer_foreign_keys|locking_mode|query_only)\s*[=(]/i;

/** Strips leading comments and white space, to look at a statement's first keyword. */
function head(sql: string): string {
  return sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/, '');
}

/**
 * Classifies raw SQL, refusing what would break the store's transaction handling: explicit
 * transaction control (use `store.transaction`), ATTACH, and pragmas the journal relies on.
 */
export function classifyQuery(sql: unknown): QueryKind {
  if (typeof sql !== 'string' || head(sql).length === 0) {
    throw new StoreError('INVALID_INPUT', `query must be a non-empty SQL string, got ${describe(sql)}`);
  }
  const start = head(sql);
  const keyword = FORBIDDEN.exec(start);
  if (keyword) {
    throw new StoreError('INVALID_INPUT', `query cannot run ${keyword[1]!.toUpperCase()}: use store.transaction() for atomic work`);
  }
  const pragma = GUARDED_PRAGMA.exec(start);
  if (pragma) throw new StoreError('INVALID_INPUT', `query cannot set PRAGMA ${pragma[1]}: the store manages it`);
  return /^VACUUM\b/i.test(start) ? 'vacuum' : 'statement';
}

/** Runs one statement with bound parameters; its rows as plain objects. */
export function runQuery(conn: Connection, sql: string, params: QueryParams | undefined): Row[] {
  const bound = bindable(params);
  const statements = conn.db.iterateStatements(sql);
  let first: ReturnType<typeof statements.next>;
  try {
    first = statements.next();
  } catch (error) {
    throw sqlError(error, sql);
  }
  if (first.done) throw new StoreError('INVALID_INPUT', 'query holds no SQL statement');
  const statement = first.value;
  try {
    if (
      head(statements.getRemainingSQL().replace(/^[\s;]*/, ''))
        .replace(/;/g, '')
        .trim().length > 0
    ) {
      throw new StoreError('INVALID_INPUT', 'query must be a single statement; run several with store.transaction()');
    }
    statement.bind(bound);
    const rows: Row[] = [];
    while (statement.step()) rows.push(statement.getAsObject());
    return rows;
  } catch (error) {
    throw sqlError(error, sql);
  } finally {
    statement.free();
  }
}

function bindable(params: QueryParams | undefined): BindParams {
  if (params === undefined) return [];
  const convert = (value: unknown, name: string): SqlValue => {
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (
      value === null ||
      typeof value === 'number' ||
      typeof value === 'string' ||
      typeof value === 'bigint' ||
      value instanceof Uint8Array
    ) {
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
