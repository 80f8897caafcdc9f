import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { messageOf, StoreError } from '../src/errors.js';
import { hasLogHeader, parseLog } from './log-frames.js';

/** What `inspectFsLog` found in a store's log file. */
export interface FsLogHealth {
  /** The log's path: `<db>.aos-log`. */
  readonly path: string;
  /** False when there is no log (a store that was closed cleanly and never written since may still have one). */
  readonly exists: boolean;
  readonly bytes: number;
  /** Intact records: commits not yet folded into the snapshot. */
  readonly records: number;
  /**
   * Null when every byte is accounted for. 'torn': only the last append is unfinished (a writer
   * mid-append, or a crash before it was acknowledged; the writer drops it on open). 'corrupt':
   * acknowledged records are damaged (the writer refuses to open, see `onCorruptLog`). 'foreign':
   * the file is no agent-ops-store log.
   */
  readonly damage: null | { readonly kind: 'torn' | 'corrupt' | 'foreign'; readonly offset: number; readonly reason: string };
}

/**
 * Reads the log beside the store at `path` without locking or writing it, and says how healthy it
 * is: for tools such as `agent-ops check`, which must not repair what they inspect.
 *
 * @example
 * const { records, damage } = await inspectFsLog('./agent-ops.db');
 */
export async function inspectFsLog(path: string): Promise<FsLogHealth> {
  const logPath = `${resolve(path)}.aos-log`;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(logPath);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { path: logPath, exists: false, bytes: 0, records: 0, damage: null };
    throw new StoreError('IO', `cannot read the log at ${logPath}: ${messageOf(error)}`, { cause: error });
  }
  if (bytes.length === 0) return { path: logPath, exists: true, bytes: 0, records: 0, damage: null };
  if (!hasLogHeader(bytes)) {
    return { path: logPath, exists: true, bytes: bytes.length, records: 0, damage: { kind: 'foreign', offset: 0, reason: 'bad header' } };
  }
  const parsed = parseLog(bytes);
  return { path: logPath, exists: true, bytes: bytes.length, records: parsed.records.length, damage: parsed.damage };
}
