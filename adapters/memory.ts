import { StoreError } from '../src/errors.js';
import type { LoadedState, LogTail, PersistenceAdapter } from '../src/persistence-adapter.js';

/**
 * The bytes a memory adapter keeps: they outlive the store, so a test can close a store (or
 * abandon it, as a crashed process would) and open another on the same volume.
 */
export class MemoryVolume {
  /** The last checkpointed snapshot, or null. */
  snapshot: Uint8Array | null = null;
  /** Records appended since that checkpoint. */
  records: Uint8Array[] = [];
  /** Grows at every checkpoint: a reader that sees it change loads again. */
  checkpoints = 0;
  #holder: object | null = null;
  #watchers = new Set<() => void>();

  /** Takes the one-writer lock for `holder`; LOCKED if another holds it. */
  lock(holder: object): void {
    if (this.#holder !== null && this.#holder !== holder) {
      throw new StoreError('LOCKED', 'the memory volume is already open in another store');
    }
    this.#holder = holder;
  }

  /** Releases the lock if `holder` has it. */
  unlock(holder: object): void {
    if (this.#holder === holder) this.#holder = null;
  }

  /** Drops the lock of a store that was abandoned without close(), as a killed process's would be. */
  breakLock(): void {
    this.#holder = null;
  }

  /** Calls `listener` after each append or checkpoint; returns the function that stops it. */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** Tells the watchers the bytes changed, once the writer's call has returned. */
  changed(): void {
    for (const listener of this.#watchers) queueMicrotask(listener);
  }
}

/** A reader of a volume: no lock, never a change to the volume. */
function volumeTail(volume: MemoryVolume): LogTail {
  let checkpoints = -1;
  let read = 0;
  let unwatch: (() => void) | null = null;
  return {
    async load(): Promise<LoadedState> {
      checkpoints = volume.checkpoints;
      read = volume.records.length;
      return { snapshot: volume.snapshot?.slice() ?? null, records: volume.records.map((r) => r.slice()), warnings: [] };
    },
    async poll(): Promise<readonly Uint8Array[] | 'reload'> {
      if (volume.checkpoints !== checkpoints || volume.records.length < read) return 'reload';
      const fresh = volume.records.slice(read).map((r) => r.slice());
      read = volume.records.length;
      return fresh;
    },
    watch(onChange: () => void): () => void {
      unwatch?.();
      unwatch = volume.watch(onChange);
      return () => {
        unwatch?.();
        unwatch = null;
      };
    },
    async close(): Promise<void> {
      unwatch?.();
      unwatch = null;
    },
  };
}

/**
 * An adapter that keeps everything in memory: for tests and demos. Bytes are copied in and
 * out, so later changes to a caller's buffer never reach the store.
 *
 * @example
 * const store = await openStore({ adapter: memoryAdapter() });
 */
export function memoryAdapter(
  volume: MemoryVolume = new MemoryVolume(),
): PersistenceAdapter & { readonly volume: MemoryVolume; openReader(): LogTail } {
  const self = {};
  let open = false;
  const requireOpen = (): void => {
    if (!open) throw new StoreError('CLOSED', 'the memory adapter is closed');
  };
  return {
    volume,
    location: 'memory',
    async load(): Promise<LoadedState> {
      volume.lock(self);
      open = true;
      return { snapshot: volume.snapshot?.slice() ?? null, records: volume.records.map((r) => r.slice()), warnings: [] };
    },
    async append(record: Uint8Array): Promise<void> {
      requireOpen();
      volume.records.push(record.slice());
      volume.changed();
    },
    async checkpoint(snapshot: Uint8Array): Promise<void> {
      requireOpen();
      volume.snapshot = snapshot.slice();
      volume.records = [];
      volume.checkpoints++;
      volume.changed();
    },
    openReader: () => volumeTail(volume),
    async close(): Promise<void> {
      open = false;
      volume.unlock(self);
    },
  };
}
