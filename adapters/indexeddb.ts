import type { UseStore } from 'idb-keyval';
import { messageOf, StoreError } from '../src/errors.js';
import type {
  ChunkBase,
  LoadedState,
  PersistenceAdapter,
  PreparedCheckpoint,
  ReplicaPort,
  SnapshotChunks,
  SnapshotHints,
  StoreShare,
} from '../src/persistence-adapter.js';
import { openRoom, snapshotBuffer } from '../src/snapshot-room.js';
import { CHUNK_PAUSE_MS, hexOf, OBJECT_STORE, stagedChunkKey } from './indexeddb-ahead.js';
import { TabShare } from './indexeddb-share.js';
import { startBrowserReplica } from './replica-browser.js';
import {
  CHUNK_BYTES,
  type ChunkManifest,
  type ChunkSource,
  changedChunks,
  chunkCount,
  chunkHashesOf,
  chunkSource,
  decodeManifest,
  encodeManifest,
  hashChunks,
} from './snapshot-chunks.js';

/** Options of `indexedDbAdapter`. */
export interface IndexedDbAdapterOptions {
  /**
   * 'share' (default): every tab of the origin opens the store and writes to it; one leads and
   * the others forward their writes to it (see the README). For one exclusive tab: 'fail' with
   * LOCKED at once while another tab holds the store, or 'wait' for it. Exclusive and shared
   * tabs of one store do not mix: a shared tab waits for a leader an exclusive tab never is.
   */
  readonly lock?: 'share' | 'fail' | 'wait';
  /** How long 'wait' waits before LOCKED. Default 10 s. */
  readonly lockTimeoutMs?: number;
  /**
   * 'share' only: how long a following tab with a forwarded write waits without hearing from the
   * leading tab (a reply, a commit, an answer to its ping) before it decides the leader is frozen
   * or hung and takes the lock from it. Default 3000 ms.
   */
  readonly leaderTimeoutMs?: number;
}

// One object store holds everything: log records under increasing numbers, the snapshot in
// chunks under ['chunk', index] with a manifest under 'manifest' (its length and a hash per
// chunk). Numbers sort before strings and strings before arrays, so one key range reads or
// removes every record and another every chunk. Stores written before chunks hold the whole
// snapshot as one value under 'snapshot': it is read as it is, and the first checkpoint replaces
// it with chunks in the same transaction that deletes it, so a crash leaves one layout or the other.
// A chunk is under ['chunk', index], or under ['chunk', index, <its SHA-256 in hex>] when it was
// written before the checkpoint that lists it (prepareCheckpoint): a reader takes, for each index,
// the key named by the manifest's hash if there is one, else the plain key, and passes over the rest
// (chunks of a checkpoint that never committed; the next commit deletes them).
const LEGACY_SNAPSHOT_KEY = 'snapshot';
const MANIFEST_KEY = 'manifest';
const CHUNK_KEY = 'chunk';
const chunkKey = (index: number): IDBValidKey => [CHUNK_KEY, index];
const CHUNKS_FROM = (index: number): IDBKeyRange => IDBKeyRange.bound(chunkKey(index), chunkKey(Number.POSITIVE_INFINITY));
/**
 * The largest store this adapter lets grow (`PersistenceAdapter.maxBytes`): at a checkpoint a tab
 * holds the database about 2.2 times (sql.js's file, grown by eighths, and its export), and up to
 * about 4.2 times with the checkpoint replica (a second file in its Web Worker, the same process,
 * and garbage not yet collected): 4.4 GB measured for a 1,052 MB store (see docs/big-stores.md).
 */
const MAX_STORE_BYTES = 1 << 30;
// Fencing: each holder of the lock raises the epoch before it reads the state, and marks the epoch
// it replaced as over (an empty value under `epoch-over:<n>`). Every write of a holder first
// `add`s its own epoch's mark in the same transaction: once the mark exists the add fails and
// IndexedDB aborts the whole transaction, so a holder the lock was taken from (a frozen tab that
// resumed) cannot write after the new one read. The check needs no answer from the page between
// requests: a tab frozen right after it issued a write leaves no transaction waiting on it, which
// would hold up the new holder's raise. Values are bytes, which `#read` (and earlier versions of
// this adapter) pass over, since only 'snapshot' and numbers name state.
const EPOCH_KEY = 'epoch';
const EPOCH_OVER = 'epoch-over:';
const NO_BYTES = new Uint8Array(0);
const ALL_RECORDS = (): IDBKeyRange => IDBKeyRange.bound(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);

/**
 * Stores the database in IndexedDB (browser): one IndexedDB database per store, named
 * `agent-ops-store:<name>`. Every append is its own `durability: 'strict'` transaction and
 * resolves when that transaction completes; a checkpoint replaces the snapshot and drops the
 * log in one transaction. A Web Lock of the same name keeps one writer across tabs; with the
 * default `lock: 'share'` the other tabs follow that writer and forward their writes to it.
 *
 * @example
 * const store = await openStore({ adapter: indexedDbAdapter('agent-ops') }); // any number of tabs
 * const only = await openStore({ adapter: indexedDbAdapter('agent-ops', { lock: 'fail' }) }); // one tab
 */
export function indexedDbAdapter(name: string, options: IndexedDbAdapterOptions = {}): PersistenceAdapter {
  if (typeof name !== 'string' || name.length === 0) {
    throw new StoreError('INVALID_INPUT', 'indexedDbAdapter needs a database name');
  }
  const timeout = options.leaderTimeoutMs;
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
    throw new StoreError('INVALID_INPUT', `leaderTimeoutMs must be a positive number of ms, not ${String(timeout)}`);
  }
  return new IndexedDbAdapter(`agent-ops-store:${name}`, options);
}

class IndexedDbAdapter implements PersistenceAdapter {
  readonly location: string;
  readonly maxBytes = MAX_STORE_BYTES;
  readonly #options: IndexedDbAdapterOptions;
  readonly #db: StrictConnection;
  /** Resolving it ends the Web Lock callback, which releases the lock. */
  #releaseLock: (() => void) | null = null;
  /** Settles once the browser has actually released the lock. */
  #lockReleased: Promise<unknown> | null = null;
  #nextKey = 1;
  #open = false;
  /** When the last append began: chunks written ahead of a checkpoint give way while appends come. */
  #lastAppendAt = Number.NEGATIVE_INFINITY;
  /** Set when another context took the lock with `steal: true`: this one must not write again. */
  #stolen = false;
  /** The epoch this holder wrote when it loaded; null until then, and after the lock is released. */
  #epoch: number | null = null;
  /** The tabs sharing the store, once the store asked (lock 'share' only). */
  #share: TabShare | null = null;
  /** The manifest of the snapshot as stored, as this holder last loaded or wrote it; null when unknown (write every chunk). */
  #hashes: ChunkManifest | null = null;
  /** How many records the log holds (stale ones included), as this holder last read or wrote it: what a checkpoint may keep. */
  #recordCount = 0;

  constructor(location: string, options: IndexedDbAdapterOptions) {
    this.location = location;
    this.#options = options;
    this.#db = new StrictConnection(location);
  }

  async load(): Promise<LoadedState> {
    if (this.#releaseLock === null) {
      this.#stolen = false;
      await this.#acquireLock();
    }
    this.#open = true;
    try {
      // Raised before the read: a write of a former holder that began earlier committed before this
      // transaction and is read below; one that begins later finds the new epoch and aborts.
      if (this.#epoch === null) this.#epoch = await this.#raiseEpoch();
      const { state, lastKey, manifest } = await this.#read();
      this.#nextKey = lastKey + 1;
      this.#hashes = manifest;
      this.#recordCount = state.records.length;
      return state;
    } catch (error) {
      await this.close();
      throw ioError(`cannot read the IndexedDB database ${this.location}`, error);
    }
  }

  share(): StoreShare | null {
    if ((this.#options.lock ?? 'share') !== 'share' || typeof BroadcastChannel !== 'function') return null;
    this.#share ??= new TabShare({
      location: this.location,
      leaderTimeoutMs: this.#options.leaderTimeoutMs ?? 3000,
      tryLock: async () => {
        if (this.#releaseLock !== null) return true;
        this.#stolen = false;
        return this.#takeLock({ ifAvailable: true });
      },
      waitLock: async (signal) => {
        if (this.#releaseLock !== null) return;
        this.#stolen = false;
        await this.#takeLock({ signal });
        // Granted just as the tab closed: let the next tab have it.
        if (signal.aborted) {
          // (TypeScript still narrows the field to the null it was before the await.)
          const release = this.#releaseLock as (() => void) | null;
          this.#releaseLock = null;
          this.#lockReleased = null;
          release?.();
          throw signal.reason;
        }
      },
      stealLock: async () => {
        if (this.#releaseLock !== null) return;
        this.#stolen = false;
        await this.#takeLock({ steal: true });
      },
      read: async () => {
        try {
          return (await this.#read()).state;
        } catch (error) {
          throw ioError(`cannot read the IndexedDB database ${this.location}`, error);
        }
      },
    });
    return this.#share;
  }

  /**
   * Everything the database holds, in one IndexedDB transaction: the snapshot (from its chunks,
   * else the legacy single value), the log, the last record's key (0 if none) and the manifest.
   */
  async #read(): Promise<{ state: LoadedState; lastKey: number; manifest: ChunkManifest | null }> {
    const read: {
      snapshot: Uint8Array | null;
      manifest: ChunkManifest | null;
      records: Uint8Array[];
      lastKey: number;
      error?: unknown;
    } = { snapshot: null, manifest: null, records: [], lastKey: 0 };
    const bytesAt = (key: IDBValidKey, value: unknown): Uint8Array => {
      if (value instanceof Uint8Array) return value;
      throw new StoreError('CORRUPT', `${this.location} holds a value under ${JSON.stringify(key)} that is not bytes`);
    };
    // What an event handler throws would abort the transaction with a bare AbortError and reach
    // the page's error handler: keep the error and abort instead.
    const guarded =
      (tx: IDBTransaction, handler: () => void): (() => void) =>
      () => {
        try {
          handler();
        } catch (error) {
          read.error ??= error;
          abortQuietly(tx);
        }
      };
    try {
      await this.#db.store('readonly', (store) => this.#readIn(store, read, bytesAt, guarded));
    } catch (error) {
      throw read.error ?? error;
    }
    return { state: { snapshot: read.snapshot, records: read.records, warnings: [] }, lastKey: read.lastKey, manifest: read.manifest };
  }

  /** Issues the requests of `#read` in the transaction of `store`; they fill `read` as they succeed. */
  #readIn(
    store: IDBObjectStore,
    read: { snapshot: Uint8Array | null; manifest: ChunkManifest | null; records: Uint8Array[]; lastKey: number },
    bytesAt: (key: IDBValidKey, value: unknown) => Uint8Array,
    guarded: (tx: IDBTransaction, handler: () => void) => () => void,
  ): Promise<void> {
    const tx = store.transaction;
    return settled(tx, () => {
      // Requests of one transaction run in order and see one state: no checkpoint lands between them.
      const manifest = store.get(MANIFEST_KEY);
      manifest.onsuccess = guarded(tx, () => {
        if (manifest.result === undefined) {
          const legacy = store.get(LEGACY_SNAPSHOT_KEY);
          legacy.onsuccess = guarded(tx, () => {
            if (legacy.result !== undefined) read.snapshot = bytesAt(LEGACY_SNAPSHOT_KEY, legacy.result);
          });
          return;
        }
        const decoded = decodeManifest(bytesAt(MANIFEST_KEY, manifest.result), this.location);
        read.manifest = decoded;
        // One chunk at a time into one array: the whole snapshot is never held twice.
        // With the room the store opens it with, zero and untouched: sql.js then keeps these very
        // bytes as its file (withRoom), instead of a copy of them.
        const snapshot = snapshotBuffer(decoded.length, openRoom(decoded.length, 0));
        read.snapshot = snapshot;
        let next = 0;
        const hexes = decoded.hashes.map(hexOf);
        // The plain value of chunk `next`, taken once the cursor has passed every key of that index
        // without finding the one its hash names.
        let held: Uint8Array | null = null;
        const place = (chunk: Uint8Array): void => {
          const expected = Math.min(decoded.chunkBytes, decoded.length - next * decoded.chunkBytes);
          if (chunk.length !== expected) throw this.#missingChunk(next, decoded.hashes.length);
          snapshot.set(chunk, next * decoded.chunkBytes);
          next++;
          held = null;
        };
        const cursor = store.openCursor(CHUNKS_FROM(0));
        cursor.onsuccess = guarded(tx, () => {
          const at = cursor.result;
          const count = decoded.hashes.length;
          const key = at === null ? null : (at.key as unknown[]);
          const index = key === null ? Number.POSITIVE_INFINITY : Number(key[1]);
          if (held !== null && index > next) place(held);
          if (next >= count) return;
          if (at === null || key === null || index > next) throw this.#missingChunk(next, count);
          if (index === next) {
            const chunk = bytesAt(at.key, at.value);
            if (key.length === 2) held = chunk;
            else if (key[2] === hexes[next]) place(chunk);
          }
          at.continue();
        });
      });
      const values = store.getAll(ALL_RECORDS());
      const keys = store.getAllKeys(ALL_RECORDS());
      keys.onsuccess = guarded(tx, () => {
        read.records = values.result.map((value, i) => bytesAt(keys.result[i]!, value));
        const last = keys.result.at(-1);
        read.lastKey = typeof last === 'number' ? last : 0;
      });
    });
  }

  #missingChunk(index: number, count: number): StoreError {
    return new StoreError(
      'CORRUPT',
      `${this.location} lacks chunk ${index} of the ${count} its snapshot manifest lists, or holds it cut short`,
    );
  }

  async append(record: Uint8Array): Promise<void> {
    this.#requireOpen();
    this.#lastAppendAt = performance.now();
    const key = this.#nextKey;
    // slice(): a copy of just these bytes (a view's structured clone would carry its whole buffer).
    const bytes = record.slice();
    try {
      await this.#fenced((store) => store.put(bytes, key));
    } catch (error) {
      throw ioError(`cannot append to the IndexedDB database ${this.location}`, error);
    }
    this.#nextKey = key + 1;
    this.#recordCount++;
    this.#share?.published(bytes);
  }

  /**
   * Writes the chunks whose hash changed since the snapshot this holder last loaded or wrote, the
   * new manifest, and drops the chunks past the new end, the legacy single value and the log:
   * all in one transaction, so the switch from one value to chunks, and every checkpoint, is
   * atomic. Its I/O is the chunks that changed, not the whole database.
   */
  async checkpoint(snapshot: Uint8Array): Promise<void> {
    this.#requireOpen();
    try {
      const hashes = await hashChunks(snapshot, CHUNK_BYTES);
      this.#requireOpen();
      await this.#writeSnapshot(chunkSource(snapshot, this.location), hashes, 0);
    } catch (error) {
      throw ioError(`cannot write the snapshot to the IndexedDB database ${this.location}`, error);
    }
    this.#share?.checkpointed();
  }

  /**
   * The slow part of a checkpoint, while appends go on: hashes the snapshot's chunks (a chunk per
   * task, so the page goes on answering) and writes those that changed against the manifest as it
   * is now, each in a transaction of its own (appends interleave with them), under keys named by
   * their hash, which no reader takes before a manifest lists them. `commit` then puts the
   * manifest and deletes what it replaces, the legacy value and every log record but the last
   * `keep`, in one fenced transaction: writes wait for that one only. A tab closed before the
   * commit leaves chunks nobody reads, which the next commit deletes.
   */
  async prepareCheckpoint(snapshot: Uint8Array | SnapshotChunks, hints?: SnapshotHints): Promise<PreparedCheckpoint> {
    this.#requireOpen();
    const source = chunkSource(snapshot, this.location);
    let hashes: Uint8Array[];
    const staged = new Set<number>();
    const base = this.#hashes;
    try {
      hashes = await chunkHashesOf(snapshot, hints);
      for (const index of changedChunks(hashes, base?.chunkBytes === CHUNK_BYTES ? base.hashes : null)) {
        this.#requireOpen();
        // Written ahead by the replica's worker, under the key this would use, and durable.
        if (source.written.has(index)) {
          staged.add(index);
          continue;
        }
        const chunk = source.chunk(index);
        const key = stagedChunkKey(index, hashes[index]!);
        const started = performance.now();
        await this.#fenced((store) => store.put(chunk, key));
        staged.add(index);
        if (this.#lastAppendAt >= started) await new Promise<void>((resolve) => setTimeout(resolve, CHUNK_PAUSE_MS));
      }
    } catch (error) {
      throw ioError(`cannot prepare a snapshot for the IndexedDB database ${this.location}`, error);
    }
    // Dropped once settled: the snapshot may be most of the page's memory.
    let held: { source: ChunkSource; hashes: Uint8Array[] } | null = { source, hashes };
    return {
      commit: async (keep) => {
        if (held === null) throw new StoreError('INVALID_INPUT', `this checkpoint of ${this.location} was already committed or discarded`);
        const prepared = held;
        held = null;
        this.#requireOpen();
        const count = this.#recordCount;
        if (!Number.isInteger(keep) || keep < 0 || keep > count) {
          throw new StoreError('INVALID_INPUT', `cannot keep ${keep} of the ${count} record(s) in the log of ${this.location}`);
        }
        // Another checkpoint (or a reload) since: its commit may have deleted these chunks as
        // belonging to no manifest, so this one writes every chunk it changes itself.
        const ahead = this.#hashes === base ? staged : new Set<number>();
        try {
          await this.#writeSnapshot(prepared.source, prepared.hashes, keep, ahead);
        } catch (error) {
          throw ioError(`cannot write the snapshot to the IndexedDB database ${this.location}`, error);
        }
        this.#share?.checkpointed();
      },
      // The chunks written ahead stay until the next commit deletes them: no reader takes them.
      discard: async () => {
        held = null;
      },
    };
  }

  /**
   * A module Web Worker for the store's checkpoint replica; StoreError IO where none can start
   * (no Worker here, or the page's policy forbids it): the store then exports on the page.
   */
  spawnReplica(): ReplicaPort {
    return startBrowserReplica();
  }

  /**
   * The chunk hashes of the snapshot as this holder last loaded or wrote it, or null when unknown
   * (after a failed checkpoint, or a store of another layout): the replica then sends only the
   * chunks that differ, and the page never holds the whole database a second time.
   */
  chunkBase(): ChunkBase | null {
    const known = this.#hashes;
    if (!known || known.chunkBytes !== CHUNK_BYTES) return null;
    // The worker writes the chunks that differ into this database itself (adapters/indexeddb-ahead.ts).
    return { chunkBytes: known.chunkBytes, hashes: known.hashes, writeAheadTo: this.location };
  }

  /**
   * The one transaction of a checkpoint: puts the chunks of `snapshot` whose hash differs from
   * the manifest this holder knows (but those in `staged`, written ahead under their hash's key),
   * the new manifest, and drops what no longer belongs to it (the chunks past the new end, the
   * keys of each index but the one the manifest now names, the legacy single value) and every log
   * record but the last `keep`.
   */
  async #writeSnapshot(
    snapshot: ChunkSource,
    hashes: readonly Uint8Array[],
    keep: number,
    staged: ReadonlySet<number> = new Set(),
  ): Promise<void> {
    const previous = this.#hashes;
    const changed = changedChunks(hashes, previous?.chunkBytes === CHUNK_BYTES ? previous.hashes : null);
    // Checked before anything changes: a snapshot sent as chunks against a manifest replaced since
    // may lack some, and the store then keeps its durable state (and this holder its manifest).
    const missing = changed.find((index) => !staged.has(index) && !snapshot.has(index));
    if (missing !== undefined) snapshot.chunk(missing);
    const manifest: ChunkManifest = { length: snapshot.length, chunkBytes: CHUNK_BYTES, hashes };
    const manifestBytes = encodeManifest(manifest);
    const hexes = hashes.map(hexOf);
    // Unknown until this transaction completes: should it fail, the next checkpoint writes every chunk.
    this.#hashes = null;
    const failed: { error?: unknown } = {};
    const guard =
      (tx: IDBTransaction, handler: () => void): (() => void) =>
      () => {
        try {
          handler();
        } catch (error) {
          failed.error ??= error;
          abortQuietly(tx);
        }
      };
    try {
      await this.#fenced(
        (store) => {
          store.delete(CHUNKS_FROM(chunkCount(snapshot.length, CHUNK_BYTES)));
          store.put(manifestBytes, MANIFEST_KEY);
          store.delete(LEGACY_SNAPSHOT_KEY);
          dropRecordsBefore(store, keep, guard);
          // Keys named by a hash the manifest does not list for their index: chunks of checkpoints
          // that never committed, or replaced now. (A plain key beside the named one is dropped below.)
          const keys = store.getAllKeys(CHUNKS_FROM(0));
          keys.onsuccess = guard(store.transaction, () => {
            for (const key of keys.result as unknown[][]) {
              if (key.length === 3 && key[2] !== hexes[Number(key[1])]) store.delete(key as IDBValidKey);
            }
          });
          const written = changed.filter((index) => !staged.has(index));
          for (const index of changed) if (staged.has(index)) store.delete(chunkKey(index));
          // One chunk per request, the next issued from the success of the one before: each put
          // copies (clones) its chunk at once, so issuing them all in one go would hold the page
          // for the whole database on a first checkpoint. The pending request keeps the
          // transaction open between them.
          const putFrom = (k: number): void => {
            if (k >= written.length) return;
            const index = written[k]!;
            const request = store.put(snapshot.chunk(index), chunkKey(index));
            request.onsuccess = guard(store.transaction, () => putFrom(k + 1));
          };
          putFrom(0);
        },
        { commitAtOnce: false },
      );
    } catch (error) {
      throw failed.error ?? error;
    }
    this.#hashes = manifest;
    this.#recordCount = keep;
  }

  /**
   * Runs `write` in a strict readwrite transaction that aborts, leaving the database as it was,
   * with LOCKED when another holder has marked this holder's epoch over since it loaded. With
   * `commitAtOnce` false, the transaction commits once `write`'s last request succeeded (it may
   * chain requests from success events).
   */
  async #fenced(write: (store: IDBObjectStore) => void, { commitAtOnce = true } = {}): Promise<void> {
    const over = `${EPOCH_OVER}${this.#epoch}`;
    // Set from an event of the transaction (a plain `let` would stay narrowed to its first value).
    const outcome: { deposed?: true } = {};
    try {
      await this.#db.store('readwrite', (store) => {
        const tx = store.transaction;
        return settled(tx, () => {
          // Fails with ConstraintError once the mark exists, which aborts the transaction.
          const check = store.add(NO_BYTES, over);
          check.onerror = () => {
            if (check.error?.name === 'ConstraintError') outcome.deposed = true;
          };
          store.delete(over);
          write(store);
          // At once rather than after the last request's success event: one round trip less per
          // write. Not when `write` issues more requests from the success of earlier ones.
          if (!commitAtOnce) return;
          try {
            tx.commit?.();
          } catch {
            // Already aborted or finishing: the transaction's end event reports how it ended.
          }
        });
      });
    } catch (error) {
      if (outcome.deposed) {
        this.#deposed();
        throw this.#lockedError();
      }
      throw error;
    }
  }

  /** Raises the epoch by one and marks the one it replaces over, in one strict transaction; resolves with the new epoch. */
  async #raiseEpoch(): Promise<number> {
    let next = 0;
    await this.#db.store('readwrite', (store) => {
      return settled(store.transaction, () => {
        const read = store.get(EPOCH_KEY);
        read.onsuccess = () => {
          const current = decodeEpoch(read.result);
          next = current + 1;
          store.put(encodeEpoch(next), EPOCH_KEY);
          if (current > 0) store.put(NO_BYTES, `${EPOCH_OVER}${current}`);
        };
      });
    });
    return next;
  }

  /** Another holder took over: write nothing more, and stop leading the other tabs. */
  #deposed(): void {
    this.#stolen = true;
    this.#share?.deposed();
  }

  #lockedError(): StoreError {
    return new StoreError('LOCKED', `the lock on ${this.location} was taken by another tab or worker (steal); reopen the store`);
  }

  async close(): Promise<void> {
    this.#open = false;
    this.#epoch = null;
    this.#share?.close();
    this.#db.close();
    const release = this.#releaseLock;
    const released = this.#lockReleased;
    this.#releaseLock = null;
    this.#lockReleased = null;
    release?.();
    // Resolve only once the lock is free, so a reopen right after close() gets it.
    await released;
  }

  #requireOpen(): void {
    if (this.#stolen) throw this.#lockedError();
    if (!this.#open) throw new StoreError('CLOSED', `the IndexedDB database ${this.location} is closed`);
  }

  /** The lock for `load`: 'wait' waits up to `lockTimeoutMs`; 'fail' and 'share' take it only if it is free. */
  async #acquireLock(): Promise<void> {
    const wait = this.#options.lock === 'wait';
    const timeoutMs = this.#options.lockTimeoutMs ?? 10_000;
    let got: boolean;
    try {
      got = await this.#takeLock(wait ? { signal: AbortSignal.timeout(timeoutMs) } : { ifAvailable: true });
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError') {
        throw new StoreError('LOCKED', `${this.location} is open in another tab or worker; one writer at a time (waited ${timeoutMs} ms)`, {
          cause: error,
        });
      }
      throw error;
    }
    if (!got) throw new StoreError('LOCKED', `${this.location} is open in another tab or worker; one writer at a time`);
  }

  /**
   * Requests the Web Lock and, once granted, holds it until close(). Resolves with false when
   * `ifAvailable` found it taken; rejects with the abort reason when `signal` aborts first.
   */
  async #takeLock(options: LockOptions): Promise<boolean> {
    const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
    if (!locks) {
      throw new StoreError(
        'IO',
        `cannot lock ${this.location}: Web Locks are unavailable (they need a secure context, https or localhost)`,
      );
    }
    let granted!: (got: boolean) => void;
    const grant = new Promise<boolean>((resolve) => {
      granted = resolve;
    });
    let release!: () => void;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const request = locks.request(this.location, options, (lock) => {
      granted(lock !== null);
      // The lock is held for as long as this promise is pending: until close().
      return lock === null ? undefined : hold;
    });
    let got: boolean;
    try {
      got = await Promise.race([grant, request.then(() => false)]);
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') throw error;
      throw new StoreError('IO', `cannot lock ${this.location}: ${messageOf(error)}`, { cause: error });
    }
    if (!got) return false;
    this.#releaseLock = release;
    // A new tenure: the next load raises the epoch again.
    this.#epoch = null;
    this.#lockReleased = request.catch(() => {
      // Rejected after it was granted: the lock was stolen from under an open adapter.
      if (this.#releaseLock === release && this.#open) {
        this.#releaseLock = null;
        this.#deposed();
      }
    });
    return true;
  }
}

/**
 * One IndexedDB connection, opened on first use, handing out idb-keyval `UseStore`s whose
 * transactions are `durability: 'strict'` (idb-keyval's createStore leaves durability to the
 * browser's default, which may report 'complete' before the data is flushed to disk).
 */
class StrictConnection {
  readonly #name: string;
  #db: Promise<IDBDatabase> | null = null;
  #lost: Error | null = null;

  constructor(name: string) {
    this.#name = name;
  }

  /** The UseStore over the object store: one strict transaction per call. */
  readonly store: UseStore = async (mode, callback) => {
    const db = await this.#connect();
    const tx = db.transaction(OBJECT_STORE, mode, { durability: 'strict' });
    try {
      return await callback(tx.objectStore(OBJECT_STORE));
    } catch (error) {
      // A request that threw at once (a quota error, say) must not let the others commit.
      abortQuietly(tx);
      throw error;
    }
  };

  /** Closes the connection; the next use opens a new one. */
  close(): void {
    const db = this.#db;
    this.#db = null;
    this.#lost = null;
    db?.then((d) => d.close()).catch(() => undefined);
  }

  #connect(): Promise<IDBDatabase> {
    if (this.#lost) return Promise.reject(this.#lost);
    this.#db ??= this.#openDb().catch((error: unknown) => {
      this.#db = null;
      throw error;
    });
    return this.#db;
  }

  #openDb(): Promise<IDBDatabase> {
    return new Promise((resolve, reject) => {
      const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (!factory) {
        reject(new Error('IndexedDB is unavailable here (a private window, or a context without storage)'));
        return;
      }
      const request = factory.open(this.#name, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(OBJECT_STORE);
      };
      let blocked = false;
      request.onblocked = () => {
        blocked = true;
        reject(new Error('opening was blocked by another connection that will not close'));
      };
      request.onerror = () => reject(request.error ?? new Error('indexedDB.open failed'));
      request.onsuccess = () => {
        const db = request.result;
        // Already reported as blocked: nobody holds this late connection, so close it.
        if (blocked) {
          db.close();
          return;
        }
        // Someone deletes or upgrades the database: let them, and fail every later write
        // loudly rather than silently recreate an empty database.
        db.onversionchange = () => {
          db.close();
          this.#lost = new Error('the database was deleted or upgraded by another connection');
        };
        db.onclose = () => {
          this.#lost = new Error('the browser closed the connection (storage cleared, or the disk failed)');
        };
        resolve(db);
      };
    });
  }
}

/**
 * Deletes, in the transaction of `store`, every log record but the last `keep` (all of them when
 * `keep` is 0). The kept ones are found from the end with a key cursor rather than assumed from
 * the keys' numbering. `guard` wraps the cursor's handler.
 */
function dropRecordsBefore(store: IDBObjectStore, keep: number, guard: (tx: IDBTransaction, handler: () => void) => () => void): void {
  if (keep === 0) {
    store.delete(ALL_RECORDS());
    return;
  }
  const cursor = store.openKeyCursor(ALL_RECORDS(), 'prev');
  let skipped = false;
  cursor.onsuccess = guard(store.transaction, () => {
    const at = cursor.result;
    // No record before the kept ones: nothing to drop.
    if (at === null) return;
    if (!skipped) {
      skipped = true;
      at.advance(keep);
      return;
    }
    store.delete(IDBKeyRange.upperBound(at.key));
  });
}

function abortQuietly(tx: IDBTransaction): void {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted.
  }
}

/**
 * Resolves on the transaction's 'complete' event: only then is a strict write on disk.
 * Rejects with the most telling error: the failed request's, else the transaction's own
 * (a QuotaExceededError arrives as an abort).
 */
/**
 * Issues a transaction's requests with `issue` and resolves when it completes. If `issue` throws
 * (the transaction was already aborted, say), the transaction is aborted and that error is the
 * one reported: the end event's rejection is then handled here, never left unhandled.
 */
function settled(tx: IDBTransaction, issue: () => void): Promise<void> {
  const done = transactionDone(tx);
  try {
    issue();
  } catch (error) {
    done.catch(() => undefined);
    try {
      tx.abort();
    } catch {
      // Already finished: nothing left to undo.
    }
    return Promise.reject(error);
  }
  return done;
}

function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = (event) => reject((event.target as IDBRequest | null)?.error ?? tx.error ?? new Error('a request failed'));
    tx.onabort = () => reject(tx.error ?? new Error('the transaction was aborted'));
  });
}

/** The epoch stored under EPOCH_KEY (8 bytes, a float64); 0 when none was ever stored. */
function decodeEpoch(value: unknown): number {
  if (!(value instanceof Uint8Array) || value.byteLength !== 8) return 0;
  return new DataView(value.buffer, value.byteOffset, 8).getFloat64(0);
}

function encodeEpoch(epoch: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, epoch);
  return bytes;
}

function ioError(message: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError('IO', `${message}: ${messageOf(error)}`, { cause: error });
}
