// The parts of sql.js (Node build), better-sqlite3 and PGlite the benches use. sql.js and
// better-sqlite3 ship no types and @types/* are not installed; better-sqlite3 and PGlite live in
// bench/node_modules, installed only by `npm run bench`. Declared here so the benches typecheck
// under strict on a machine that never ran the bench.
declare module 'sql.js' {
  import type { SqlJsStatic } from '../src/sql-js.js';
  export default function initSqlJs(config?: { wasmBinary?: ArrayBuffer }): Promise<SqlJsStatic>;
}

declare module 'better-sqlite3' {
  interface RunResult {
    changes: number;
    lastInsertRowid: number | bigint;
  }
  interface Statement {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): unknown;
  }
  class Database {
    constructor(path: string);
    pragma(source: string, options?: { simple?: boolean }): unknown;
    exec(sql: string): this;
    prepare(sql: string): Statement;
    transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
    close(): void;
  }
  export default Database;
}

declare module '@electric-sql/pglite' {
  interface Results<T> {
    rows: T[];
  }
  interface Transaction {
    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Results<T>>;
  }
  export class PGlite {
    static create(dataDir?: string): Promise<PGlite>;
    exec(sql: string): Promise<unknown>;
    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Results<T>>;
    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
    close(): Promise<void>;
  }
}
