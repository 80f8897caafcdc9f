import { close, constants, fdatasync, fdatasyncSync, fstat, fsync, ftruncate, open, read, write, writeSync } from 'node:fs';
import { mkdir, open as openHandle, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { messageOf, StoreError } from '../src/errors.js';
import type {
  LoadedState,
  LogTail,
  PersistenceAdapter,
  PreparedCheckpoint,
  ReplicaPort,
  SnapshotChunks,
} from '../src/persistence-adapter.js';
import { openRoom } from '../src/snapshot-room.js';
import { AppendMode } from './append-mode.js';
import { FileLock, type LockMode } from './fs-lock.js';
import { fsTail } from './fs-tail.js';
import { FRAME_HEAD, frame, hasLogHeader, LOG_HEADER, parseLog } from './log-frames.js';
import { readWhole } from './read-whole.js';
import { startNodeReplica } from './replica-node.js';

export type { FsLogHealth } from './fs-log-health.js';
/** Inspects the log beside a store file without locking or repairing it (see `agent-ops check`). */
export { inspectFsLog } from './fs-log-health.js';

const openFd = promisify(open);
// With O_DSYNC each write to the log returns only once its data is durable, as if followed by
// fdatasync, in one call instead of two. Where the platform lacks it, append calls fdatasync.
const DSYNC = constants.O_DSYNC ?? 0;
const closeFd = promisify(close);
const fstatFd = promisify(fstat);
const fsyncFd = promisify(fsync);
const fdatasyncFd = promisify(fdatasync);
const truncateFd = promisify(ftruncate);
const readFd = promisify(read) as (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
) => Promise<{ bytesRead: number }>;
/**
 * How long after a snapshot was written or committed appends still avoid blocking the event
 * loop: a second, and a second more per 100 MB of snapshot (see #busyFor).
 */
const DISK_BUSY_MS = 1000;
const DISK_BUSY_BYTES_PER_MS = 100_000;
/**
 * The room an append makes in the log when it has none left: that many zeros written after its
 * frame, in the same write. An O_DSYNC write that grows a file must also commit its new size
 * through the file system's journal; one that overwrites blocks already written need not.
 * Measured here (`writeSync` on an O_DSYNC descriptor, p50): 1.4 KB appended 0.31–0.41 ms,
 * overwritten 0.21–0.26 ms; 23 KB (a 16-call shared commit) 0.55–0.76 ms, overwritten 0.25–0.47
 * ms. A MiB of zeros costs ~1.6 ms once per MiB of records, and the log is cut back at each
 * checkpoint. Readers and load() take the zeros after the last frame as its end.
 */
const LOG_ROOM_BYTES = 1 << 20;
/** How long after a snapshot's rename the old one is closed, and its blocks freed (see #installSnapshot). */
const RELEASE_DELAY_MS = 50;
/** Tells apart the temporary files of one process (two checkpoints may start within a millisecond). */
let tempCounter = 0;
const writeFd = promisify(write) as (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
) => Promise<{ bytesWritten: number }>;

/** Options of `fsAdapter`. */
export interface FsAdapterOptions {
  /** When another process holds the store: 'fail' at once with LOCKED (default), or 'wait'. */
  readonly lock?: LockMode;
  /** How long 'wait' waits before LOCKED. Default 10 s. */
  readonly lockTimeoutMs?: number;
  /**
   * A log damaged before its last record (acknowledged data hurt), or holding records of another
   * store: 'error' refuses to open with CORRUPT (default). 'truncate' keeps the records before the
   * damage and saves the whole damaged log as `<path>.aos-log.corrupt-<time>`; a log with another
   * store's records is saved as `<path>.aos-log.foreign-<time>` and none of those records is
   * applied. Either way it warns.
   */
  readonly onCorruptLog?: 'error' | 'truncate';
  /**
   * How each append is written. `true`: always with a synchronous write, as better-sqlite3
   * does (no thread-pool round trip, but the event loop waits for every disk flush); `false`:
   * always through the thread pool (the event loop never waits for the disk). By default it
   * adapts: synchronous for records up to 64 KiB while appends take at most 2 ms on average,
   * through the pool while the disk is slower (see AppendMode).
   */
  readonly blockingAppends?: boolean;
}

/**
 * Stores the database in a file (Node). The snapshot is a plain SQLite file at `path`, which
 * the sqlite3 CLI opens after close(); the log of commit records is `<path>.aos-log` (a name
 * native SQLite never takes for a journal); `<path>.aos-lock` keeps one writer at a time.
 * `openStore({ adapter: fsAdapter(path), readOnly: true })` opens a reader beside the writer.
 *
 * @example
 * const store = await openStore({ adapter: fsAdapter('./agent-ops.db') });
 */
export function fsAdapter(path: string, options: FsAdapterOptions = {}): PersistenceAdapter {
  if (typeof path !== 'string' || path.length === 0) {
    throw new StoreError('INVALID_INPUT', 'fsAdapter needs a file path');
  }
  return new FsAdapter(resolve(path), options);
}

class FsAdapter implements PersistenceAdapter {
  readonly location: string;
  readonly #logPath: string;
  readonly #dir: string;
  readonly #lock: FileLock;
  readonly #options: FsAdapterOptions;
  readonly #appendMode: AppendMode;
  #logFd: number | null = null;
  #logEnd = 0;
  /** The log file's size: past #logEnd it holds zeros, room for the next appends (see LOG_ROOM_BYTES). */
  #logSize = 0;
  /**
   * Snapshots being written by prepareCheckpoint. Meanwhile, and for a while after one is
   * written or committed (see #busyFor), the disk is busy with it and an append's flush may wait behind its
   * write-back (hundreds of ms measured): appends go through the thread pool then (unless
   * `blockingAppends: true`), so such a wait never holds the event loop.
   */
  #preparing = 0;
  #poolUntil = 0;
  /** Descriptors of replaced snapshots, held open for a moment after the rename (see #installSnapshot). */
  readonly #heldSnapshots = new Set<number>();
  /** When the last append began: a background snapshot pauses between its pieces while appends are coming. */
  #lastAppendAt = Number.NEGATIVE_INFINITY;
  /** Where each record's frame ends in the log, in order: what a checkpoint that keeps the last few needs. */
  #frameEnds: number[] = [];
  #open = false;

  constructor(path: string, options: FsAdapterOptions) {
    this.location = path;
    this.#logPath = `${path}.aos-log`;
    this.#dir = dirname(path);
    this.#lock = new FileLock(`${path}.aos-lock`);
    this.#options = options;
    this.#appendMode = new AppendMode(options.blockingAppends);
  }

  async load(): Promise<LoadedState> {
    await mkdir(this.#dir, { recursive: true }).catch((error: unknown) => {
      throw ioError(`cannot create the folder ${this.#dir}`, error);
    });
    await this.#lock.acquire(this.#options.lock ?? 'fail', this.#options.lockTimeoutMs ?? 10_000);
    this.#open = true;
    await this.#closeLog();
    try {
      await this.#removeTempSnapshots();
      // The log first: the snapshot is read with room for replaying it (see snapshotBuffer).
      const log = await readIfExists(this.#logPath);
      const snapshot = await readIfExists(this.location, (size) => openRoom(size, log?.length ?? 0));
      const warnings: string[] = [];
      this.#frameEnds = [];
      if (log === null) return { snapshot, records: [], warnings };
      if (!hasLogHeader(log)) {
        if (LOG_HEADER.length > log.length && LOG_HEADER.subarray(0, log.length).every((b, i) => log[i] === b)) {
          // A log whose header write was cut short holds nothing.
          await this.#resetLog();
          return { snapshot, records: [], warnings };
        }
        throw new StoreError('CORRUPT', `${this.#logPath} is not an agent-ops-store log (bad header); move it aside to open the store`);
      }
      const parsed = parseLog(log);
      if (parsed.damage) {
        const { kind, offset, reason } = parsed.damage;
        if (kind === 'corrupt' && this.#options.onCorruptLog !== 'truncate') {
          throw new StoreError(
            'CORRUPT',
            `${this.#logPath} is damaged at byte ${offset} (${reason}) with records after it; ${parsed.records.length} record(s) ` +
              "before it are intact. Open with fsAdapter(path, { onCorruptLog: 'truncate' }) to keep those and set the rest aside",
          );
        }
        if (kind === 'corrupt') {
          const aside = `${this.#logPath}.corrupt-${Date.now()}`;
          // Synced before the log is cut, so a power loss cannot lose the damaged records entirely.
          await writeNewFileSynced(aside, log);
          await syncDir(this.#dir);
          warnings.push(
            `${this.#logPath} was damaged at byte ${offset} (${reason}); kept ${parsed.records.length} record(s) before it, the whole damaged log is saved as ${aside}`,
          );
        } else {
          warnings.push(
            `dropped an unfinished append at the end of ${this.#logPath} (byte ${offset}: ${reason}); it had never been acknowledged`,
          );
        }
        await this.#openLog();
        await truncateFd(this.#logFd!, parsed.end);
        await fdatasyncFd(this.#logFd!);
      }
      this.#logEnd = parsed.end;
      this.#logSize = parsed.damage ? parsed.end : log.length;
      let end = LOG_HEADER.length;
      this.#frameEnds = parsed.records.map((record) => (end += FRAME_HEAD + record.length));
      return { snapshot, records: parsed.records, warnings };
    } catch (error) {
      await this.close();
      if (error instanceof StoreError) throw error;
      throw ioError(`cannot read the store at ${this.location}`, error);
    }
  }

  async append(record: Uint8Array): Promise<void> {
    this.#requireOpen();
    if (this.#logFd === null) await this.#openLog();
    const at = this.#logEnd;
    const bytes = this.#withRoom(frame(record), at);
    const started = performance.now();
    this.#lastAppendAt = started;
    try {
      if (this.#appendMode.blocking(bytes.length) && (this.#options.blockingAppends === true || !this.#diskBusy())) {
        for (let done = 0; done < bytes.length; ) done += writeSync(this.#logFd!, bytes, done, bytes.length - done, at + done);
        if (DSYNC === 0) fdatasyncSync(this.#logFd!);
      } else {
        await writeAll(this.#logFd!, bytes, at);
        if (DSYNC === 0) await fdatasyncFd(this.#logFd!);
      }
      this.#appendMode.observe(performance.now() - started);
    } catch (error) {
      // Best effort: cut a partial frame off so the next append starts on a clean boundary.
      this.#logSize = at;
      await truncateFd(this.#logFd!, at).catch(() => undefined);
      throw ioError(`cannot append to ${this.#logPath}`, error);
    }
    this.#logEnd = at + FRAME_HEAD + record.length;
    this.#logSize = Math.max(this.#logSize, at + bytes.length);
    this.#frameEnds.push(this.#logEnd);
  }

  /**
   * The bytes an append at `at` writes: the frame, and when the log has no room left for it,
   * zeros after it up to LOG_ROOM_BYTES more, so that the next appends overwrite the file
   * instead of growing it.
   */
  #withRoom(framed: Uint8Array, at: number): Uint8Array {
    if (at + framed.length <= this.#logSize) return framed;
    const bytes = new Uint8Array(framed.length + LOG_ROOM_BYTES);
    bytes.set(framed, 0);
    return bytes;
  }

  async checkpoint(snapshot: Uint8Array): Promise<void> {
    this.#requireOpen();
    const temp = await this.#writeTempSnapshot(snapshot);
    try {
      await this.#installSnapshot(temp);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw ioError(`cannot write the snapshot ${this.location}`, error);
    }
    // The new snapshot carries a new generation, so the records still in the log are stale
    // from here on; dropping them is tidying, and a crash before it loses nothing.
    try {
      await this.#resetLog();
    } catch (error) {
      throw ioError(`cannot reset the log ${this.#logPath}`, error);
    }
  }

  /**
   * Writes the snapshot to a temporary file beside the store and fsyncs it, through the thread
   * pool (the event loop goes on); `commit` renames it into place and keeps the log's last
   * records in a new log, renamed over the old one, so a crash leaves one log or the other.
   */
  async prepareCheckpoint(snapshot: Uint8Array | SnapshotChunks): Promise<PreparedCheckpoint> {
    this.#requireOpen();
    // Chunks come only to adapters that give a chunk base, which this one does not.
    if (!(snapshot instanceof Uint8Array)) {
      throw new StoreError('INVALID_INPUT', `the snapshot for ${this.location} must be whole bytes, not chunks`);
    }
    this.#preparing++;
    let temp: string;
    try {
      temp = await this.#writeTempSnapshot(snapshot, (started) => this.#giveWayToAppends(started));
    } finally {
      this.#preparing--;
      this.#busyFor(snapshot.length);
    }
    let settled = false;
    return {
      commit: async (keep) => {
        if (settled) throw new StoreError('INVALID_INPUT', `this checkpoint of ${this.location} was already committed or discarded`);
        settled = true;
        try {
          await this.#commitSnapshot(temp, keep);
        } finally {
          this.#busyFor(snapshot.length);
        }
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await rm(temp, { force: true }).catch(() => undefined);
      },
    };
  }

  /**
   * Between two pieces of a snapshot written in the background: while appends are coming, a
   * short pause, so the disk is not kept busy with the snapshot back to back. An append's flush
   * waits in the disk's queue behind the piece being flushed; small pieces with gaps keep that
   * wait short. Measured at 110 MB: write p99 during checkpoints 4.9–5.9 ms with 4 MiB pieces
   * back to back, 3.2–4.1 ms with 512 KiB ones (a checkpoint then takes ~0.8 s instead of ~0.3 s,
   * off the thread); with 256 KiB the longest write went from 27–46 ms to 10–20 ms (four runs
   * each, alternating; p99 within the disk's noise). When no append came during the last piece,
   * no pause, and the next piece is a large one: a checkpoint with no writes around it (`close()`,
   * an explicit one) is not slowed by the pacing (10–14 s at 1 GB on a slow disk day, against
   * 16–21 s paced all the way). Resolves true when it paused.
   */
  async #giveWayToAppends(since: number): Promise<boolean> {
    if (this.#lastAppendAt < since) return false;
    await new Promise<void>((resolve) => setTimeout(resolve, PIECE_PAUSE_MS));
    return true;
  }

  /**
   * Keeps appends off the event loop for a while after the disk took a snapshot of `bytes` (or
   * freed one): its write-back, and the freeing of the old snapshot's blocks (trimmed at a later
   * journal commit on a disk mounted with discard), keep the disk busy for longer the larger it
   * is. With a fixed second, synchronous appends at 1 GB waited 0.2–0.4 s on the disk now and
   * then after a checkpoint (CPU profile: writeSync in append), holding the event loop.
   */
  #busyFor(bytes: number): void {
    this.#poolUntil = Math.max(this.#poolUntil, performance.now() + DISK_BUSY_MS + bytes / DISK_BUSY_BYTES_PER_MS);
  }

  #diskBusy(): boolean {
    return this.#preparing > 0 || performance.now() < this.#poolUntil;
  }

  /** A worker thread for the store's checkpoint replica. */
  spawnReplica(): ReplicaPort {
    return startNodeReplica();
  }

  async #writeTempSnapshot(snapshot: Uint8Array, between?: Pacing): Promise<string> {
    const temp = join(this.#dir, `.${basename(this.location)}.aos-tmp-${process.pid}-${Date.now()}-${++tempCounter}`);
    try {
      await writeNewFileSynced(temp, snapshot, between);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw ioError(`cannot write the snapshot ${this.location}`, error);
    }
    return temp;
  }

  /**
   * Renames `temp` over the snapshot, durably. The old snapshot is held open across the rename
   * and closed a moment later, outside the caller's turn: when a rename drops a file's last link
   * the kernel frees all its blocks inside the rename call, and that call runs in the turn of
   * the store's queue that writes wait for (the longest write during checkpoints at 110 MB:
   * 46-64 ms when the rename freed them, 31-37 ms this way). A reader reading the old snapshot
   * keeps it whole either way.
   */
  async #installSnapshot(temp: string): Promise<void> {
    const old = await openFd(this.location, 'r').catch(() => null);
    try {
      await rename(temp, this.location);
    } catch (error) {
      if (old === null) throw error;
      // Where an open file cannot be replaced (some Windows setups), let it go and try once more.
      await closeFd(old).catch(() => undefined);
      await rename(temp, this.location);
      await syncDir(this.#dir);
      return;
    }
    if (old !== null) {
      this.#heldSnapshots.add(old);
      const release = setTimeout(() => {
        if (!this.#heldSnapshots.delete(old)) return;
        // Closing the last reference frees the old snapshot's blocks (and, on a disk mounted
        // with discard, trims them at the next journal commit): the disk stays busy a while,
        // so appends keep off the event loop for a while after that (see #busyFor).
        void fstatFd(old)
          .then(
            (stats) => stats.size,
            () => 0,
          )
          .then(async (size) => {
            await closeFd(old).catch(() => undefined);
            this.#busyFor(size);
          });
      }, RELEASE_DELAY_MS);
      // A process about to exit need not wait for it: its descriptors close anyway.
      release.unref?.();
    }
    await syncDir(this.#dir);
  }

  async #commitSnapshot(temp: string, keep: number): Promise<void> {
    this.#requireOpen();
    const count = this.#frameEnds.length;
    if (!Number.isInteger(keep) || keep < 0 || keep > count) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new StoreError('INVALID_INPUT', `cannot keep ${keep} of the ${count} record(s) in ${this.#logPath}`);
    }
    // Read before the rename: once the snapshot is in place, these records exist only in the log.
    const from = keep === count ? LOG_HEADER.length : this.#frameEnds[count - keep - 1]!;
    let tail: Uint8Array;
    try {
      if (this.#logFd === null) await this.#openLog();
      tail = await readRange(this.#logFd!, from, this.#logEnd);
      await this.#installSnapshot(temp);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw ioError(`cannot write the snapshot ${this.location}`, error);
    }
    // From here the new snapshot is the state. The records it holds are stale in the old log,
    // and those after it extend it (see extendsSnapshot): cutting them off is tidying, and a crash
    // before the new log is renamed into place loses nothing.
    try {
      if (keep === 0) {
        await this.#resetLog();
        return;
      }
      const log = new Uint8Array(LOG_HEADER.length + tail.length);
      log.set(LOG_HEADER, 0);
      log.set(tail, LOG_HEADER.length);
      const tempLog = join(this.#dir, `.${basename(this.location)}.aos-tmp-log-${process.pid}-${Date.now()}-${++tempCounter}`);
      await writeNewFileSynced(tempLog, log);
      await this.#closeLog();
      await rename(tempLog, this.#logPath);
      await syncDir(this.#dir);
      await this.#openLog();
      this.#logEnd = log.length;
      this.#logSize = log.length;
      const shift = from - LOG_HEADER.length;
      this.#frameEnds = this.#frameEnds.slice(count - keep).map((end) => end - shift);
    } catch (error) {
      throw ioError(`cannot cut the log ${this.#logPath} after a checkpoint`, error);
    }
  }

  async setAsideLog(reason: string): Promise<string> {
    this.#requireOpen();
    if (this.#options.onCorruptLog !== 'truncate') {
      throw new StoreError(
        'CORRUPT',
        `${this.#logPath} belongs to another store: ${reason}; none of it was applied. Move it aside, or open with ` +
          "fsAdapter(path, { onCorruptLog: 'truncate' }) to save it under another name and keep this store's own records",
      );
    }
    const aside = `${this.#logPath}.foreign-${Date.now()}`;
    try {
      const log = (await readIfExists(this.#logPath)) ?? new Uint8Array(0);
      // Synced before the store checkpoints and empties the log, so the records are never lost.
      await writeNewFileSynced(aside, log);
      await syncDir(this.#dir);
    } catch (error) {
      throw ioError(`cannot save ${this.#logPath} as ${aside}`, error);
    }
    return `${this.#logPath} belongs to another store: ${reason}; none of it was applied, and the whole log is saved as ${aside}`;
  }

  /** A reader beside the holder (`openStore({ readOnly: true })`): no lock, and never a byte written. */
  openReader(): LogTail {
    return fsTail(this.location);
  }

  async close(): Promise<void> {
    for (const fd of this.#heldSnapshots) await closeFd(fd).catch(() => undefined);
    this.#heldSnapshots.clear();
    await this.#closeLog();
    if (this.#open) this.#lock.release();
    this.#open = false;
  }

  /**
   * Deletes snapshot temp files of checkpoints a killed process never finished: each is as
   * big as the database, and with the lock held no live writer can still own one.
   */
  async #removeTempSnapshots(): Promise<void> {
    const prefix = `.${basename(this.location)}.aos-tmp-`;
    // Tidying only: a folder that cannot be listed must not keep the store from opening.
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix)) await rm(join(this.#dir, name), { force: true }).catch(() => undefined);
    }
  }

  #requireOpen(): void {
    if (!this.#open) throw new StoreError('CLOSED', `the store at ${this.location} is closed`);
  }

  async #openLog(): Promise<void> {
    if (this.#logFd !== null) return;
    let created = false;
    let fd: number;
    try {
      fd = await openFd(this.#logPath, constants.O_RDWR | DSYNC);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot open ${this.#logPath}`, error);
      fd = await openFd(this.#logPath, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | DSYNC).catch((e: unknown) => {
        throw ioError(`cannot create ${this.#logPath}`, e);
      });
      created = true;
    }
    this.#logFd = fd;
    if (created) {
      await this.#writeHeader();
      await syncDir(this.#dir);
    }
  }

  async #resetLog(): Promise<void> {
    if (this.#logFd === null) await this.#openLog();
    await truncateFd(this.#logFd!, 0);
    await this.#writeHeader();
    this.#frameEnds = [];
  }

  async #writeHeader(): Promise<void> {
    await writeAll(this.#logFd!, LOG_HEADER, 0);
    await fdatasyncFd(this.#logFd!);
    this.#logEnd = LOG_HEADER.length;
    this.#logSize = LOG_HEADER.length;
  }

  async #closeLog(): Promise<void> {
    const fd = this.#logFd;
    this.#logFd = null;
    if (fd !== null) await closeFd(fd).catch(() => undefined);
  }
}

/** The whole file at `path` (in slices, so past 2 GiB too), or null when there is none. */
async function readIfExists(path: string, room: number | ((size: number) => number) = 0): Promise<Uint8Array | null> {
  let handle: Awaited<ReturnType<typeof openHandle>>;
  try {
    handle = await openHandle(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(`cannot read ${path}`, error);
  }
  try {
    return await readWhole(handle, room);
  } catch (error) {
    throw ioError(`cannot read ${path}`, error);
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` at `position`, however the kernel splits the write. */
async function writeAll(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await writeFd(fd, bytes, at, Math.min(8 << 20, bytes.length - at), position + at);
    at += bytesWritten;
  }
}

/** The bytes of `fd` from `start` up to `end`. */
async function readRange(fd: number, start: number, end: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(end - start);
  for (let at = 0; at < bytes.length; ) {
    const { bytesRead } = await readFd(fd, bytes, at, bytes.length - at, start + at);
    if (bytesRead === 0) throw new Error(`the log ended at byte ${start + at}, before ${end}`);
    at += bytesRead;
  }
  return bytes;
}

/**
 * A snapshot is flushed every this many bytes while it is written, not only at the end: the
 * disk then never holds more than this of it unwritten, so a log append's flush (which may
 * have to wait for the file system's other dirty data) stays short while a checkpoint runs.
 */
const SNAPSHOT_FLUSH_BYTES = 4 << 20;
/** The pieces of a snapshot written in the background while appends come, and the pause after each (see #giveWayToAppends). */
const PACED_FLUSH_BYTES = 256 << 10;
const PIECE_PAUSE_MS = 2;

/**
 * Called after each flushed piece of a paced write with the time that piece began; it may wait.
 * Resolves true while appends are coming (the next piece is a small one), false when none came.
 */
type Pacing = (pieceStarted: number) => Promise<boolean>;

/**
 * Creates `path` with `bytes` and fsyncs it, flushed piece by piece. With `between`, called after
 * each piece: small pieces while it says appends are coming, large ones while none do.
 */
async function writeNewFileSynced(path: string, bytes: Uint8Array, between?: Pacing): Promise<void> {
  let piece = between ? PACED_FLUSH_BYTES : SNAPSHOT_FLUSH_BYTES;
  const fd = await openFd(path, 'wx');
  try {
    for (let at = 0; at < bytes.length; ) {
      const started = performance.now();
      const end = Math.min(bytes.length, at + piece);
      await writeAll(fd, bytes.subarray(at, end), at);
      at = end;
      if (at < bytes.length) {
        await fdatasyncFd(fd);
        if (between) piece = (await between(started)) ? PACED_FLUSH_BYTES : SNAPSHOT_FLUSH_BYTES;
      }
    }
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/** fsync of a folder, so a rename or a new file in it survives power loss. */
async function syncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

function ioError(message: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError('IO', `${message}: ${messageOf(error)}`, { cause: error });
}
