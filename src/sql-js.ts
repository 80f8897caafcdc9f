// The part of sql.js the store uses, declared here rather than taken from @types/sql.js,
// which lags the library (no BigInt values, no useBigInt).

/** A value sql.js binds or returns. */
export type SqlValue = number | bigint | string | Uint8Array | null;

/** Parameters: positional, or named (`{ ':name': value }`). */
export type BindParams = SqlValue[] | Record<string, SqlValue>;

/** A prepared statement. */
export interface SqlJsStatement {
  bind(values?: BindParams): boolean;
  step(): boolean;
  get(params?: BindParams | null, config?: { useBigInt?: boolean }): SqlValue[];
  getAsObject(params?: BindParams | null): Record<string, SqlValue>;
  reset(): void;
  free(): boolean;
  /** The SQL text of this statement, as SQLite split it from the rest. */
  getSQL(): string;
  /** The statement as SQLite normalizes it: no comments, names unquoted, literals as `?`. */
  getNormalizedSQL(): string;
}

/** Iterates the statements of an SQL string one at a time. */
export interface SqlJsStatementIterator extends Iterator<SqlJsStatement> {
  getRemainingSQL(): string;
}

/** An open database. */
export interface SqlJsDatabase {
  exec(sql: string): { columns: string[]; values: SqlValue[][] }[];
  prepare(sql: string): SqlJsStatement;
  iterateStatements(sql: string): SqlJsStatementIterator;
  getRowsModified(): number;
  create_function(name: string, fn: (...args: unknown[]) => unknown): SqlJsDatabase;
  export(): Uint8Array;
  close(): void;
}

/** The loaded module. */
export interface SqlJsStatic {
  Database: new (data?: ArrayLike<number> | null) => SqlJsDatabase;
}
