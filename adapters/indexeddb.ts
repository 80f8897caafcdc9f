import { entries, type UseStore } from 'idb-keyval';
import { messageOf, StoreError } from '../src/errors.js';
import type { LoadedState, PersistenceAdapter } from '../src/persistence-adapter.js';

/** Options of `indexedDbAdapter`. */
export interface IndexedDbAdapterOptions {
  /** When another tab holds the store: 'fail' at once with LOCKED (default), or 'wait'. */
  readonly lock?: 'fail' | 'wait';
  /** How long 'wait' waits before LOCKED. Default 10 s. */
  readonly lockTimeoutMs?: number;
}

// One object store holds everything: log records under increasing numbers, the snapshot under
// a string key. Numbers sort before strings, so `entries` reads the log in order, and one
// key range removes every record.
const OBJECT_STORE = 'aos';
const SNAPSHOT_KEY = 'snapshot';
const ALL_RECORDS = (): IDBKeyRange => IDBKeyRange.bound(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);

/**
 * Stores the database in IndexedDB (browser): one IndexedDB database per store, named
 * `agent-ops-store:<name>`. Every append is its own `durability: 'strict'` transaction and
 * resolves when that transaction completes; a checkpoint replaces the snapshot and drops the
 * log in one transaction. A Web Lock of the same name keeps one writer across tabs.
 *
 * @example
 * const store = await openStore({ adapter: indexedDbAdapter('agent-ops') });
 */
export function indexedDbAdapter(name: string, options: IndexedDbAdapterOptions = {}): PersistenceAdapter {
  if (typeof name !== 'string' || name.length === 0) {
    throw new StoreError('INVALID_INPUT', 'indexedDbAdapter needs a database name');
  }
  return new IndexedDbAdapter(`agent-ops-store:${name}`, options);
}

class IndexedDbAdapter implements PersistenceAdapter {
  readonly location: string;
  readonly #options: IndexedDbAdapterOptions;
  readonly #db: StrictConnection;
  /** Resolving it ends the Web Lock callback, which releases the lock. */
  #releaseLock: (() => void) | null = null;
  /** Settles once the browser has actually released the lock. */
  #lockReleased: Promise<unknown> | null = null;
  #nextKey = 1;
  #open = false;
  /** Set when another context took the lock with `steal: true`: this one must not write again. */
  #stolen = false;

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
      // idb-keyval's entries() reads keys and values in one transaction, in key order.
      const all = await entries<IDBValidKey, unknown>(this.#db.store);
      let snapshot: Uint8Array | null = null;
      const records: Uint8Array[] = [];
      for (const [key, value] of all) {
        if (!(value instanceof Uint8Array)) {
          throw new StoreError('CORRUPT', `${this.location} holds a value under ${String(key)} that is not bytes`);
        }
        if (key === SNAPSHOT_KEY) snapshot = value;
        else if (typeof key === 'number') {
          records.push(value);
          this.#nextKey = key + 1;
        }
      }
      return { snapshot, records, warnings: [] };
    } catch (error) {
      await this.close();
      throw ioError(`cannot read the IndexedDB database ${this.location}`, error);
    }
  }

  async append(record: Uint8Array): Promise<void> {
    this.#requireOpen();
    const key = this.#nextKey;
    // slice(): a copy of just these bytes (a view's structured clone would carry its whole buffer).
    const bytes = record.slice();
    try {
      await this.#db.store('readwrite', (store) => {
        store.put(bytes, key);
        return commit(store.transaction);
      });
    } catch (error) {
      throw ioError(`cannot append to the IndexedDB database ${this.location}`, error);
    }
    this.#nextKey = key + 1;
  }

  async checkpoint(snapshot: Uint8Array): Promise<void> {
    this.#requireOpen();
    const bytes = snapshot.slice();
    try {
      await this.#db.store('readwrite', (store) => {
        store.put(bytes, SNAPSHOT_KEY);
        store.delete(ALL_RECORDS());
        return commit(store.transaction);
      });
    } catch (error) {
      throw ioError(`cannot write the snapshot to the IndexedDB database ${this.location}`, error);
    }
  }

  async close(): Promise<void> {
    this.#open = false;
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
    if (this.#stolen) {
      throw new StoreError('LOCKED', `the lock on ${this.location} was taken by another tab or worker (steal); reopen the store`);
    }
    if (!this.#open) throw new StoreError('CLOSED', `the IndexedDB database ${this.location} is closed`);
  }

  async #acquireLock(): Promise<void> {
    const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
    if (!locks) {
      throw new StoreError(
        'IO',
        `cannot lock ${this.location}: Web Locks are unavailable (they need a secure context, https or localhost)`,
      );
    }
    const wait = this.#options.lock === 'wait';
    const timeoutMs = this.#options.lockTimeoutMs ?? 10_000;
    let granted!: (got: boolean) => void;
    const grant = new Promise<boolean>((resolve) => {
      granted = resolve;
    });
    const hold = new Promise<void>((resolve) => {
      this.#releaseLock = resolve;
    });
    const options: LockOptions = wait ? { signal: AbortSignal.timeout(timeoutMs) } : { ifAvailable: true };
    const request = locks.request(this.location, options, (lock) => {
      granted(lock !== null);
      // The lock is held for as long as this promise is pending: until close().
      return lock === null ? undefined : hold;
    });
    this.#lockReleased = request.catch(() => {
      // Rejected after it was granted: the lock was stolen from under an open adapter.
      if (this.#releaseLock !== null && this.#open) {
        this.#stolen = true;
        this.#releaseLock = null;
      }
    });
    let got: boolean;
    try {
      got = await Promise.race([grant, request.then(() => false)]);
    } catch (error) {
      this.#releaseLock = null;
      this.#lockReleased = null;
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new StoreError('LOCKED', `${this.location} is open in another tab or worker; one writer at a time (waited ${timeoutMs} ms)`, {
          cause: error,
        });
      }
      throw new StoreError('IO', `cannot lock ${this.location}: ${messageOf(error)}`, { cause: error });
    }
    if (!got) {
      this.#releaseLock = null;
      this.#lockReleased = null;
      throw new StoreError('LOCKED', `${this.location} is open in another tab or worker; one writer at a time`);
    }
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

function abortQuietly(tx: IDBTransaction): void {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted.
  }
}

/**
 * Commits at once rather than when the last request's success event has come back, which
 * saves a round trip between page and storage per write; then waits for 'complete'.
 */
function commit(tx: IDBTransaction): Promise<void> {
  const done = transactionDone(tx);
  try {
    tx.commit?.();
  } catch {
    // Already aborted or finishing: `done` reports how it ended (and is then always awaited).
  }
  return done;
}

/**
 * Resolves on the transaction's 'complete' event: only then is a strict write on disk.
 * Rejects with the most telling error: the failed request's, else the transaction's own
 * (a QuotaExceededError arrives as an abort).
 */
function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = (event) => reject((event.target as IDBRequest | null)?.error ?? tx.error ?? new Error('a request failed'));
    tx.onabort = () => reject(tx.error ?? new Error('the transaction was aborted'));
  });
}

function ioError(message: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError('IO', `${message}: ${messageOf(error)}`, { cause: error });
}
