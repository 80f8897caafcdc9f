// The parts of sql.js (Node build) and better-sqlite3 the benches use. Neither package ships
// types, and @types/* are not installed; declared here so the benches typecheck under strict.
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
