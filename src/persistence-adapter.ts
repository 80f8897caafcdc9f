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
  /** Releases the lock and any handles. Safe to call twice. */
  close(): Promise<void>;
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
