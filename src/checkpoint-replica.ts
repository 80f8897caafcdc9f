import { StoreError } from './errors.js';
import type { ChunkBase, ChunkHashes, ReplicaPort, SnapshotChunks } from './persistence-adapter.js';
import type { ReplicaReply, ReplicaRequest } from './replica-protocol.js';
import { copyWithRoom, hasSpareRoom, replicaRoom } from './snapshot-room.js';

/** Records are sent to the worker in batches, at most this long after the first of a batch was durable. */
const FEED_DELAY_MS = 20;
/** ...or as soon as this many are waiting. */
const FEED_BATCH = 512;
/**
 * A snapshot not back after this long means the worker hangs: the replica is given up (and the
 * store exports on its own thread), so a checkpoint or close() never waits forever. Exporting
 * and applying a long backlog at the engine's size limit takes well under a minute.
 */
const SNAPSHOT_TIMEOUT_MS = 5 * 60_000;

/** A snapshot a replica exported: the database holding every commit up to `seq`. */
export interface ReplicaSnapshot {
  /** The database: whole, or as the chunks that differ from the base it was asked against. */
  readonly snapshot: Uint8Array | SnapshotChunks;
  readonly seq: number;
  /** The hashes of its chunks, when the worker was asked to work them out (see `ReplicaOptions`). */
  readonly chunkHashes?: ChunkHashes;
}

/**
 * The store's side of a replica worker (see `serveReplica`): feeds it the durable records in
 * order and asks it for snapshots. Once the worker fails or dies, every later request rejects
 * and `failure` says why; the store then stops using it and checkpoints on its own thread.
 */
export class CheckpointReplica {
  readonly #port: ReplicaPort;
  readonly #waiting = new Map<number, { resolve: (s: ReplicaSnapshot) => void; reject: (e: Error) => void }>();
  #pending: Uint8Array[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #nextId = 1;
  #failure: Error | null = null;
  #closed = false;

  /**
   * Starts a replica from `snapshot` and the records that extend it. With `move`, the snapshot's
   * buffer moves to the worker (no copy; nothing may use that buffer afterwards); otherwise the
   * bytes are copied.
   */
  constructor(port: ReplicaPort, snapshot: Uint8Array, records: readonly Uint8Array[], move: boolean) {
    this.#port = port;
    port.listen(
      (message) => this.#receive(message as ReplicaReply),
      (error) => this.#fail(error),
    );
    this.#open(snapshot, records, move);
  }

  /** Why the replica stopped working, or null while it works. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Rebuilds the replica from `snapshot` (moved or copied, as in the constructor) after a checkpoint no record carries (VACUUM, a schema change) or a reload. */
  reset(snapshot: Uint8Array, records: readonly Uint8Array[], move: boolean): void {
    if (this.#failure || this.#closed) return;
    // Every record waiting is in the new snapshot already.
    this.#clearTimer();
    this.#pending = [];
    this.#open(snapshot, records, move);
  }

  /** Queues a durable record for the replica (in the order they were made durable). */
  feed(record: Uint8Array): void {
    if (this.#failure || this.#closed) return;
    this.#pending.push(record);
    if (this.#pending.length >= FEED_BATCH) this.#flush();
    else if (this.#timer === null) {
      this.#timer = setTimeout(() => this.#flush(), FEED_DELAY_MS);
      // Feeding a replica must not keep a process alive.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /**
   * The replica's database once every record fed so far is applied: exported in the worker.
   * `since`: the chunk hashes of the snapshot the adapter holds (its `chunkBase`), so that a
   * worker that hashes chunks sends only those that differ.
   */
  snapshot(since?: ChunkBase | null): Promise<ReplicaSnapshot> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new StoreError('CLOSED', 'the replica was closed'));
    this.#flush();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`no snapshot after ${SNAPSHOT_TIMEOUT_MS / 1000} s`)), SNAPSHOT_TIMEOUT_MS);
      (timer as { unref?: () => void }).unref?.();
      const settle = () => clearTimeout(timer);
      this.#waiting.set(id, {
        resolve: (snapshot) => {
          settle();
          resolve(snapshot);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.#send({ kind: 'export', id, ...(since !== undefined && { since }) });
    });
  }

  /** Ends the worker; pending snapshots reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    this.#pending = [];
    this.#rejectAll(new StoreError('CLOSED', 'the replica was closed'));
    await this.#port.terminate();
  }

  /**
   * Sends the worker its starting state. A snapshot that cannot move is copied here, with the
   * room the worker opens it with, and the copy moves: one copy, opened in place over there.
   */
  #open(snapshot: Uint8Array, records: readonly Uint8Array[], move: boolean): void {
    if (move) {
      this.#send({ kind: 'open', snapshot, records, ...(hasSpareRoom(snapshot) && { roomAfter: true }) }, transferable(snapshot));
      return;
    }
    const logBytes = records.reduce((sum, record) => sum + record.length, 0);
    const copy = copyWithRoom(snapshot, replicaRoom(snapshot.length, logBytes));
    this.#send({ kind: 'open', snapshot: copy, records, roomAfter: true }, transferable(copy));
  }

  #flush(): void {
    this.#clearTimer();
    if (this.#pending.length === 0 || this.#failure || this.#closed) return;
    const records = this.#pending;
    this.#pending = [];
    this.#send({ kind: 'apply', records });
  }

  #send(request: ReplicaRequest, transfer: readonly ArrayBuffer[] = []): void {
    try {
      this.#port.post(request, transfer);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #receive(reply: ReplicaReply): void {
    if (reply.kind === 'exported') {
      const waiter = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      const snapshot = reply.chunks ?? reply.bytes;
      if (!snapshot) {
        this.#fail(new Error('an export came back with no snapshot'));
        return;
      }
      waiter?.resolve({ snapshot, seq: reply.seq, ...(reply.chunkHashes && { chunkHashes: reply.chunkHashes }) });
      return;
    }
    this.#fail(new Error(reply.message));
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = new StoreError('IO', `the checkpoint replica failed: ${error.message}`, { cause: error });
    this.#clearTimer();
    this.#pending = [];
    this.#rejectAll(this.#failure);
  }

  #rejectAll(error: Error): void {
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/**
 * The buffer to move with `bytes` (the whole of it: a view moves with its buffer, spare bytes
 * around it included). The caller vouches that nothing else uses that buffer.
 */
function transferable(bytes: Uint8Array): ArrayBuffer[] {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer ? [buffer] : [];
}
