/** What an adapter holds for a store: the last snapshot and the log records after it. */
export interface LoadedState {
  /** A whole SQLite database file, or null for a store never checkpointed. */
  readonly snapshot: Uint8Array | null;
  /** Log records in the order they were appended. */
  readonly records: readonly Uint8Array[];
  /** Damage the adapter repaired on load (a torn last record, say), in words for a person. */
  readonly warnings: readonly string[];
}

/**
 * Where a store's bytes live: bytes in, bytes out. Adapters know files or IndexedDB and never
 * SQL; the store knows SQL and never files. Every adapter passes the contract suite in
 * `test/contract/adapter-contract.ts`.
 */
export interface PersistenceAdapter {
  /** Names the storage in messages: a path, a database name. */
  readonly location: string;
  /**
   * Optional. The largest database (in bytes) this storage can hold and give back, when it is
   * smaller than the engine's own limit (IndexedDB: what a tab's memory allows at a checkpoint).
   * The store refuses writes that would grow the database past it with FULL.
   */
  readonly maxBytes?: number;
  /**
   * Takes the one-writer lock (StoreError LOCKED if another holder has it) and reads the state.
   * The holder may call it again while it holds the lock (the store does, to return to the
   * durable state after a failed checkpoint): it then re-reads without locking again.
   */
  load(): Promise<LoadedState>;
  /** Appends one record; resolves only once it is durable. */
  append(record: Uint8Array): Promise<void>;
  /** Atomically replaces the snapshot and drops every record appended before this call. */
  checkpoint(snapshot: Uint8Array): Promise<void>;
  /**
   * Optional. The slow half of a checkpoint, done while appends go on: takes `snapshot` (a whole
   * database file whose header names the last commit it holds) and prepares it where it is not
   * yet the store's state (a temporary file, the hashes of its chunks). Nothing the store or a
   * reader sees changes until `commit`. With `spawnReplica` it lets the store checkpoint without
   * holding up writes or its thread.
   */
  prepareCheckpoint?(snapshot: Uint8Array | SnapshotChunks, hints?: SnapshotHints): Promise<PreparedCheckpoint>;
  /**
   * Optional. The chunk hashes of the snapshot this adapter holds now, or null when it does not
   * know them. A replica asked for a snapshot against them sends only the chunks that differ, as
   * `SnapshotChunks`, which `prepareCheckpoint` must then accept: the store's thread never holds
   * the whole database a second time. An adapter without it gets whole snapshots.
   */
  chunkBase?(): ChunkBase | null;
  /**
   * Optional. Starts a worker (a `worker_thread`, a Web Worker) that runs `serveReplica`: the
   * store keeps a second database there, fed with its commit records, and takes snapshots from
   * it, so its own thread never exports. Only runtime-specific code starts threads, hence here.
   */
  spawnReplica?(): ReplicaPort;
  /**
   * Optional. Called on open when the log holds records of another store (a log copied in from
   * elsewhere); `reason` says which and how many. The adapter decides the policy: keep a durable
   * copy of the whole log under a clearly named location, leave the log itself as it is, and
   * resolve with a warning that says where the copy is (the store then applies none of those
   * records and checkpoints at once, which drops them from the log); or reject with StoreError
   * CORRUPT, naming the log, to refuse. Without this method the store refuses with CORRUPT.
   */
  setAsideLog?(reason: string): Promise<string>;
  /**
   * Optional. A reader of the same storage, for `openStore({ adapter, readOnly: true })`: it takes
   * no lock and writes nothing, so it works beside the holder, with or without one, and on storage
   * it may not write to. Adapters without it cannot open readers (INVALID_INPUT).
   */
  openReader?(): LogTail;
  /**
   * Optional. How contexts share this storage (tabs of one origin), or null when this adapter
   * was opened for one exclusive holder. Asked once, before `load`.
   */
  share?(): StoreShare | null;
  /** Releases the lock and any handles. Safe to call twice. */
  close(): Promise<void>;
}

/** A snapshot written by `prepareCheckpoint`, not yet the store's state. */
export interface PreparedCheckpoint {
  /**
   * Makes the prepared snapshot the durable state, atomically, and drops every record of the log
   * except the last `keep` (those appended after the snapshot was taken, which extend it). The
   * store calls it with no append in flight and starts none until it settles. A crash part way
   * leaves the old state or the new snapshot, perhaps with more records than `keep` before the
   * kept ones: the store skips those the snapshot already holds (by their commit numbers).
   */
  commit(keep: number): Promise<void>;
  /** Throws the prepared snapshot away. Safe to call twice, and after `commit` (then it does nothing). */
  discard(): Promise<void>;
}

/** The store's end of a replica worker (see `PersistenceAdapter.spawnReplica`). */
export interface ReplicaPort {
  /** Sends a structured-clonable message; buffers in `transfer` move to the worker. */
  post(message: unknown, transfer?: readonly ArrayBuffer[]): void;
  /** Receives the worker's messages, and errors that ended it. */
  listen(onMessage: (message: unknown) => void, onError: (error: Error) => void): void;
  /** Ends the worker. */
  terminate(): Promise<void>;
}

/** The worker's end of a replica (what `serveReplica` talks through). */
/**
 * What a replica worked out about a snapshot it exported, so that `prepareCheckpoint` need not
 * redo it on the store's thread.
 */
export interface SnapshotHints {
  /**
   * SHA-256 of each `chunkBytes` chunk of the snapshot as the replica exported it (see
   * `ReplicaOptions.chunkHashes`). The store stamps the file header (its first 100 bytes) after
   * the export, so the first chunk's hash is stale: an adapter recomputes that one.
   */
  readonly chunkHashes?: ChunkHashes;
}

/**
 * A snapshot given as the chunks that differ from a base the adapter holds (see `chunkBase`): its
 * length, the hash of every chunk, and the bytes of those whose hash differs from the base's.
 * Chunk 0 is always there: the store stamps the file header in it.
 */
export interface SnapshotChunks {
  /** The snapshot's length in bytes. */
  readonly length: number;
  /** The hash of every chunk, as the replica worked them out (chunk 0's before the stamp). */
  readonly hashes: ChunkHashes;
  /** The bytes of each chunk sent, by index: chunk 0 and those that differ from the base. */
  readonly chunks: ReadonlyMap<number, Uint8Array>;
  /**
   * Chunks that differ from the base which the replica's worker wrote ahead itself, where the
   * base said (`ChunkBase.writeAheadTo`), durably, under their hashes: not in `chunks`.
   */
  readonly written?: readonly number[];
}

/** The chunk hashes of the snapshot an adapter holds (see `PersistenceAdapter.chunkBase`). */
export interface ChunkBase extends ChunkHashes {
  /**
   * Where the replica's worker may write the chunks that differ itself, ahead of the checkpoint,
   * instead of sending them: a name the adapter's worker entry understands (`ReplicaOptions.
   * writeAhead`; the IndexedDB adapter's: its database). Without it, or when the worker cannot,
   * they are sent.
   */
  readonly writeAheadTo?: string;
}

/** The hashes of a snapshot's chunks: SHA-256 of each `chunkBytes` bytes, in order. */
export interface ChunkHashes {
  readonly chunkBytes: number;
  readonly hashes: readonly Uint8Array[];
}

/** What an adapter's worker entry tells `serveReplica` beyond its endpoint. */
export interface ReplicaOptions {
  /**
   * Hashes each export in chunks in the worker, for an adapter whose `prepareCheckpoint` hashes
   * them (IndexedDB: WebCrypto digests on the calling thread, a task per MiB); the store hands
   * them over as `SnapshotHints.chunkHashes`. When it throws, the export goes without hashes.
   */
  readonly chunkHashes?: { readonly chunkBytes: number; readonly hash: (snapshot: Uint8Array) => Promise<Uint8Array[]> };
  /**
   * Writes the chunks of a snapshot that differ from the adapter's base where the base names
   * (`ChunkBase.writeAheadTo`), durably, so that they never cross to the store's thread; resolves
   * once all are written. Each chunk's bytes are a view of the replica's database file, valid
   * until it resolves: a writer that clones them must copy the chunk alone first (a view's
   * structured clone carries its whole buffer). When it rejects, the export sends them instead.
   */
  readonly writeAhead?: (
    to: string,
    chunks: readonly { readonly index: number; readonly hash: Uint8Array; readonly bytes: Uint8Array }[],
  ) => Promise<void>;
}

export interface ReplicaEndpoint {
  /** Sends a message to the store; buffers in `transfer` move to it. */
  post(message: unknown, transfer?: readonly ArrayBuffer[]): void;
  /** Receives the store's messages. */
  listen(onMessage: (message: unknown) => void): void;
}

/**
 * A read-only view of an adapter's storage that follows its holder's appends and checkpoints.
 * It never takes the lock and never writes: a torn or damaged log tail is left as it is and
 * simply not returned (the holder repairs it). Covered by `test/contract/adapter-contract.ts`.
 */
export interface LogTail {
  /**
   * Reads the snapshot and the log's whole records as one consistent view (a checkpoint that
   * lands meanwhile is waited out, not half-read). Records of an older snapshot may still be in
   * the log: the store tells them apart by their generation.
   */
  load(): Promise<LoadedState>;
  /**
   * The records appended since the last `load()` or `poll()`, in order; or 'reload' when the
   * snapshot was replaced or the log was cut below what was read: the caller then calls `load()`.
   */
  poll(): Promise<readonly Uint8Array[] | 'reload'>;
  /**
   * Calls `onChange` soon (well within 100 ms) after the storage may have changed; returns the
   * function that stops watching. Watching must not keep a process alive.
   */
  watch(onChange: () => void): () => void;
  /** Stops watching and releases any handles. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Lets several contexts of one runtime (the tabs of an origin) share one store: one leads (it
 * holds the writer's lock and writes), the others follow (they keep a replica from the records
 * the leader made durable, and send their writes to the leader). The store only sees this
 * structure; how contexts find each other (BroadcastChannel, Web Locks) is the adapter's.
 * Calls and replies are opaque, structured-clonable data to the adapter.
 */
export interface StoreShare {
  /** Tries to lead without waiting; true when this context now holds the lock (`load` then locks no more). */
  tryLead(): Promise<boolean>;
  /**
   * Resolves once this context leads: queued behind the contexts that asked before, or sooner when
   * the leader stopped answering and this context took the lock from it; never while closed.
   */
  lead(): Promise<void>;
  /** What the storage holds now, read without the lock (a follower's load and catch-up). */
  read(): Promise<LoadedState>;
  /** While following: the leader's durable records, its checkpoints, and a new leader that serves. */
  listen(events: ShareEvents): void;
  /** While leading: answers the calls followers forward; calls this context forwarded before it led run here too. */
  serve(handler: (call: unknown) => Promise<unknown>): void;
  /** While following: sends `call` to the leader, resending it to each new leader, until one replies. */
  forward(call: unknown): Promise<unknown>;
}

/** What a following context hears from the leader. */
export interface ShareEvents {
  /** A record the leader appended, once durable, in the order appended. */
  record(bytes: Uint8Array): void;
  /** The leader replaced the snapshot: re-read the storage. */
  checkpoint(): void;
  /** A new leader serves: re-read the storage (the old one may have died before telling of a commit). */
  leader(): void;
}
