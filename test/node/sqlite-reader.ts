import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';

/** Which independent SQLite reads the files: the `sqlite3` CLI, or the official wasm build from npm. */
export type SqliteReaderKind = 'cli' | 'wasm';

/** Options shared by both calls: a script run into the database first, as the CLI's `.read` does. */
export interface ReadOptions {
  /** Path of an SQL script to run before the statement. */
  read?: string;
}

/**
 * An SQLite that is not ours (not sql.js), to prove that other readers take our files as they are.
 * Output is the CLI's default list mode: one line per row, `|` between columns, NULL as nothing.
 */
export interface SqliteReader {
  readonly kind: SqliteReaderKind;
  /** Runs `sql` on the database file `db` (or `':memory:'`), keeping any change it makes, and returns what the CLI would print. */
  run(db: string, sql: string, options?: ReadOptions): Promise<string>;
  /** The table names in `db`, sorted, as `.tables` lists them. */
  tables(db: string, options?: ReadOptions): Promise<string[]>;
}

/** Whether the `sqlite3` CLI is on the PATH. */
export const hasSqliteCli: boolean = (() => {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * The CLI where it is installed, else `@sqlite.org/sqlite-wasm`; pass a kind to force one.
 *
 * @example
 * const sqlite = sqliteReader();
 * expect(await sqlite.run(path, 'PRAGMA integrity_check')).toBe('ok');
 */
export function sqliteReader(kind: SqliteReaderKind = hasSqliteCli ? 'cli' : 'wasm'): SqliteReader {
  return kind === 'cli' ? cliReader : wasmReader;
}

const cliReader: SqliteReader = {
  kind: 'cli',
  async run(db, sql, options) {
    return execFileSync('sqlite3', [db, ...readArgs(options), sql], { encoding: 'utf8' }).trim();
  },
  async tables(db, options) {
    // `.tables` lays the names out in columns, read down each column: sorted, they are one list.
    return execFileSync('sqlite3', [db, ...readArgs(options), '.tables'], { encoding: 'utf8' })
      .split(/\s+/)
      .filter(Boolean)
      .sort();
  },
};

const readArgs = (options?: ReadOptions) => (options?.read ? [`.read ${options.read}`] : []);

const wasmReader: SqliteReader = {
  kind: 'wasm',
  run: (db, sql, options) =>
    withWasmDatabase(db, options, (handle) => {
      // exec() hands back the rows of the first statement that has any: every caller sends one
      // such statement (others before it, like PRAGMA foreign_keys = ON, return no rows).
      const rows = handle.exec({ sql, rowMode: 'array', returnValue: 'resultRows' }) as unknown[][];
      return rows.map((row) => row.map(cliText).join('|')).join('\n');
    }),
  tables: (db, options) =>
    withWasmDatabase(db, options, (handle) =>
      // What `.tables` lists: every table and view except SQLite's own, by name.
      handle
        .selectValues("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .map(String),
    ),
};

let wasm: Promise<Sqlite3Static> | undefined;

/**
 * Opens the file's bytes in the wasm SQLite (it has no Node file system of its own), runs `use`,
 * and writes the bytes back when they changed, so a write lands in the file as the CLI's would.
 */
async function withWasmDatabase<T>(path: string, options: ReadOptions | undefined, use: (db: Database) => T): Promise<T> {
  const { default: init } = await import('@sqlite.org/sqlite-wasm');
  wasm ??= init();
  const sqlite3 = await wasm;
  const db = new sqlite3.oo1.DB();
  try {
    const file = path !== ':memory:' && existsSync(path) ? path : undefined;
    // A copy as a plain Uint8Array: the wasm heap helpers refuse a Buffer.
    const before = file ? new Uint8Array(readFileSync(file)) : undefined;
    if (before) {
      const bytes = sqlite3.wasm.allocFromTypedArray(before);
      const flags = sqlite3.capi.SQLITE_DESERIALIZE_FREEONCLOSE | sqlite3.capi.SQLITE_DESERIALIZE_RESIZEABLE;
      const rc = sqlite3.capi.sqlite3_deserialize(db, 'main', bytes, before.length, before.length, flags);
      if (rc !== 0) throw new Error(`sqlite-wasm could not open ${path}: ${sqlite3.capi.sqlite3_js_rc_str(rc)}`);
    }
    if (options?.read) db.exec(readFileSync(options.read, 'utf8'));
    const result = use(db);
    if (path !== ':memory:') {
      const after = sqlite3.capi.sqlite3_js_db_export(db);
      if (before ? Buffer.compare(before, after) !== 0 : after.length > 0) writeFileSync(path, after);
    }
    return result;
  } finally {
    db.close();
  }
}

/** A value as the CLI prints it in list mode. */
function cliText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('latin1');
  return String(value);
}
