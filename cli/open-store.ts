import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { openStore, type SQLiteStore } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';
import { CliError, EXIT, usageError } from './exit-codes.js';

/** The log of commit records beside a store file (see adapters/fs.ts). */
export function logPathOf(path: string): string {
  return `${path}.aos-log`;
}

/** The store path a command was given; 64 when missing, 66 when there is no store there (unless `create`). */
export function storePath(positionals: readonly string[], create = false): string {
  const path = positionals[0];
  if (!path) throw usageError('missing <db>: the path of the store');
  if (!create && !existsSync(path) && !existsSync(logPathOf(path))) throw new CliError(EXIT.NO_INPUT, `no store at ${path}`);
  return path;
}

/** A reader beside any writer: no lock, nothing written. Warnings (a torn log tail) go to `warn`. */
export function openReader(path: string, warn: (message: string) => void): Promise<SQLiteStore> {
  return openStore({ adapter: fsAdapter(path), readOnly: true, onWarning: warn });
}

/** The writer: takes the lock at once or fails with LOCKED (exit 75). */
export function openWriter(path: string, warn: (message: string) => void): Promise<SQLiteStore> {
  return openStore({ adapter: fsAdapter(path, { lock: 'fail', blockingAppends: true }), onWarning: warn });
}

/** Runs `fn` on a store and closes it, even when `fn` throws. */
export async function withStore<T>(open: Promise<SQLiteStore>, fn: (store: SQLiteStore) => Promise<T>): Promise<T> {
  const store = await open;
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The bytes of the store on disk: the snapshot file and the log. */
export async function sizeOnDisk(path: string): Promise<{ snapshot: number; log: number; total: number }> {
  const size = async (file: string) => (await stat(file).catch(() => null))?.size ?? 0;
  const snapshot = await size(path);
  const log = await size(logPathOf(path));
  return { snapshot, log, total: snapshot + log };
}
