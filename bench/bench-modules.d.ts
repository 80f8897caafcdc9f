// The parts of sql.js (Node build), better-sqlite3, PGlite and wa-sqlite the benches use. sql.js
// and better-sqlite3 ship no types and @types/* are not installed; better-sqlite3, PGlite and
// wa-sqlite live in bench/node_modules, installed only by `npm run bench`. Declared here so the
// benches typecheck under strict on a machine that never ran the bench. (wa-sqlite's own types
// also describe an older VFS constructor than the `create()` its examples use now.)
// `@sqlite.org/sqlite-wasm` is not declared: its own types resolve from the root's devDependencies.
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
    all(...params: unknown[]): unknown[];
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

declare module '@journeyapps/wa-sqlite' {
  export type SqlValue = string | number | bigint | Uint8Array | null;
  export interface SQLiteAPI {
    vfs_register(vfs: unknown, makeDefault?: boolean): number;
    open_v2(filename: string, flags?: number, vfs?: string): Promise<number>;
    exec(db: number, sql: string, callback?: (row: SqlValue[], columns: string[]) => void): Promise<number>;
    statements(db: number, sql: string, options?: { unscoped?: boolean; flags?: number }): AsyncIterable<number>;
    bind_collection(stmt: number, bindings: SqlValue[]): number;
    step(stmt: number): Promise<number>;
    reset(stmt: number): Promise<number>;
    finalize(stmt: number): Promise<number>;
    close(db: number): Promise<number>;
  }
  export function Factory(module: unknown): SQLiteAPI;
}

declare module '@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs' {
  export default function SQLiteAsyncFactory(config?: object): Promise<unknown>;
}

declare module '@journeyapps/wa-sqlite/src/examples/IDBBatchAtomicVFS.js' {
  export class IDBBatchAtomicVFS {
    static create(
      name: string,
      module: unknown,
      options?: { idbName?: string; lockPolicy?: 'exclusive' | 'shared' | 'shared+hint' },
    ): Promise<IDBBatchAtomicVFS>;
    close(): void;
  }
}

/** Vite's `?raw` import: the file's text. */
declare module '*.sql?raw' {
  const text: string;
  export default text;
}
