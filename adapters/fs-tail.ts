import { closeSync, type FSWatcher, fstatSync, openSync, readSync, statSync, watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { messageOf, StoreError } from '../src/errors.js';
import type { LoadedState, LogTail } from '../src/persistence-adapter.js';
import { FRAME_HEAD, hasLogHeader, LOG_HEADER, parseLog, readFrames } from './log-frames.js';
import { readWhole } from './read-whole.js';

/** How often a reader looks at the files even when no watch event came (some file systems send none). */
const POLL_MS = 50;
/** How much of the log a poll reads at a time (more when one frame is larger). */
const POLL_WINDOW_BYTES = 64 << 10;
/** How many times `load` re-reads when a checkpoint keeps landing while it reads. */
const LOAD_ATTEMPTS = 20;

/**
 * A reader of the fs adapter's files: the snapshot at `path` and the log `<path>.aos-log`. It
 * opens files for reading only, never creates, renames, truncates or locks anything, and leaves
 * a torn log tail for the writer to repair. A replaced snapshot (a new inode, size or mtime) or
 * a log cut below what was read tells the store to load again.
 *
 * @example
 * const tail = fsTail('/data/agent-ops.db');
 * const { snapshot, records } = await tail.load();
 */
export function fsTail(path: string): LogTail {
  return new FsTail(path);
}

class FsTail implements LogTail {
  readonly #path: string;
  readonly #logPath: string;
  /** The snapshot as last loaded, by inode, size and mtime; 'none' when there was none. */
  #snapshotKey = '';
  /** The log's inode as last loaded; null when there was no log. */
  #logIno: bigint | null = null;
  /** Where the log's next unread frame starts. */
  #read = LOG_HEADER.length;
  /** The snapshot was replaced after the records last returned: the next poll says 'reload'. */
  #reloadDue = false;
  readonly #stops = new Set<() => void>();

  constructor(path: string) {
    this.#path = path;
    this.#logPath = `${path}.aos-log`;
  }

  async load(): Promise<LoadedState> {
    for (let attempt = 1; ; attempt++) {
      const before = await snapshotKey(this.#path);
      const snapshot = await readFile(this.#path);
      const log = await readFile(this.#logPath);
      const after = await snapshotKey(this.#path);
      const key = snapshot?.key ?? 'none';
      if (before === key && after === key) {
        this.#snapshotKey = key;
        this.#reloadDue = false;
        return { snapshot: snapshot?.bytes ?? null, ...this.#takeLog(log) };
      }
      if (attempt === LOAD_ATTEMPTS) {
        throw new StoreError('IO', `${this.#path} was replaced ${LOAD_ATTEMPTS} times while the reader read it`);
      }
    }
  }

  /**
   * Synchronous on purpose: a few stats and one read of the new bytes, made at every commit by
   * every reader, cost several times less without the thread pool's round trips.
   */
  async poll(): Promise<readonly Uint8Array[] | 'reload'> {
    if (this.#reloadDue) return 'reload';
    // A replaced snapshot still lets the records left in the old log be read first: the holder
    // resets the log just after the rename, and a reader that gets them needs no rebuild.
    this.#reloadDue = snapshotKeySync(this.#path) !== this.#snapshotKey;
    let fd: number;
    try {
      fd = openSync(this.#logPath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.#logIno === null && !this.#reloadDue ? [] : 'reload';
      throw ioError(`cannot open ${this.#logPath}`, error);
    }
    let fresh: { records: Uint8Array[]; consumed: number };
    try {
      const { ino, size } = fstatSync(fd, { bigint: true });
      // A log that appeared or was replaced since the load: load again, header check included.
      if (ino !== this.#logIno) return 'reload';
      // The writer resets the log by truncating it and writing the header again.
      if (size < LOG_HEADER.length) return this.#reloadDue ? 'reload' : [];
      if (size < this.#read) return 'reload';
      if (size === BigInt(this.#read)) return this.#reloadDue ? 'reload' : [];
      fresh = readNewFrames(fd, this.#read, Number(size));
    } catch (error) {
      throw ioError(`cannot read ${this.#logPath}`, error);
    } finally {
      closeSync(fd);
    }
    // Records read across a checkpoint may be of either generation: the store tells them apart
    // by the generation each carries, and loads again after them.
    if (snapshotKeySync(this.#path) !== this.#snapshotKey) this.#reloadDue = true;
    this.#read += fresh.consumed;
    return fresh.records.length === 0 && this.#reloadDue ? 'reload' : fresh.records;
  }

  watch(onChange: () => void): () => void {
    const names = new Set([basename(this.#path), basename(this.#logPath)]);
    let watcher: FSWatcher | null = null;
    try {
      watcher = watch(dirname(this.#path), { persistent: false }, (_event, name) => {
        if (name === null || names.has(String(name))) onChange();
      });
      // A folder removed or unwatchable later: the polling goes on.
      watcher.on('error', () => watcher?.close());
    } catch {
      // No folder yet, or no watch on this file system: polling alone keeps the bound.
    }
    const timer = setInterval(onChange, POLL_MS);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      watcher?.close();
      this.#stops.delete(stop);
    };
    this.#stops.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    for (const stop of [...this.#stops]) stop();
  }

  /** The records of a log read whole, leaving a torn or damaged tail for the writer. */
  #takeLog(log: { bytes: Uint8Array; ino: bigint } | null): Pick<LoadedState, 'records' | 'warnings'> {
    this.#logIno = log?.ino ?? null;
    this.#read = LOG_HEADER.length;
    if (!log || log.bytes.length < LOG_HEADER.length) return { records: [], warnings: [] };
    if (!hasLogHeader(log.bytes)) {
      throw new StoreError('CORRUPT', `${this.#logPath} is not an agent-ops-store log (bad header)`);
    }
    const parsed = parseLog(log.bytes);
    this.#read = parsed.end;
    const warnings =
      parsed.damage?.kind === 'corrupt'
        ? [
            `${this.#logPath} is damaged at byte ${parsed.damage.offset} (${parsed.damage.reason}); the reader shows the ` +
              `${parsed.records.length} record(s) before it`,
          ]
        : [];
    return { records: parsed.records, warnings };
  }
}

/**
 * The intact frames of the log open at `fd` from `from` on. The writer keeps zeros after its
 * last frame (room for its next appends, up to a MiB), so this reads a window at a time and
 * stops at the first frame that is not whole yet, instead of reading up to the file's size.
 */
function readNewFrames(fd: number, from: number, size: number): { records: Uint8Array[]; consumed: number } {
  const records: Uint8Array[] = [];
  let at = from;
  let window = POLL_WINDOW_BYTES;
  while (at < size) {
    const bytes = new Uint8Array(Math.min(window, size - at));
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, at + got);
      if (n === 0) break;
      got += n;
    }
    const read = readFrames(bytes.subarray(0, got));
    records.push(...read.records);
    at += read.consumed;
    if (got < bytes.length) break;
    const left = got - read.consumed;
    // Less than a frame header left at the end of the file: a writer mid-append.
    if (read.consumed === 0 && left < FRAME_HEAD) break;
    if (left >= FRAME_HEAD) {
      // A frame that does not fit the window is read again whole; zeros, or a whole frame that
      // failed its checksum, are where the records end for now.
      const length = new DataView(bytes.buffer, read.consumed, FRAME_HEAD).getUint32(0, true);
      if (length === 0 || left >= FRAME_HEAD + length || at + FRAME_HEAD + length > size) break;
      window = Math.max(POLL_WINDOW_BYTES, FRAME_HEAD + length);
    }
    // Otherwise the window ended on a frame boundary, or inside a header: read on from `at`.
  }
  return { records, consumed: at - from };
}

/** The file at `path`, with the inode, size and mtime of exactly the bytes read; null when absent. */
async function readFile(path: string): Promise<{ bytes: Uint8Array; key: string; ino: bigint } | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(`cannot open ${path}`, error);
  }
  try {
    const stats = await handle.stat({ bigint: true });
    return {
      bytes: await readWhole(handle),
      key: `${stats.ino}:${stats.size}:${stats.mtimeNs}`,
      ino: stats.ino,
    };
  } catch (error) {
    throw ioError(`cannot read ${path}`, error);
  } finally {
    await handle.close();
  }
}

async function snapshotKey(path: string): Promise<string> {
  try {
    const stats = await stat(path, { bigint: true });
    return `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw ioError(`cannot read ${path}`, error);
  }
}

function snapshotKeySync(path: string): string {
  try {
    const stats = statSync(path, { bigint: true });
    return `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw ioError(`cannot read ${path}`, error);
  }
}

function ioError(message: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError('IO', `${message}: ${messageOf(error)}`, { cause: error });
}
