import { StoreError } from '../src/errors.js';
import type { LoadedState, PersistenceAdapter } from '../src/persistence-adapter.js';

/**
 * The bytes a memory adapter keeps: they outlive the store, so a test can close a store (or
 * abandon it, as a crashed process would) and open another on the same volume.
 */
export class MemoryVolume {
  /** The last checkpointed snapshot, or null. */
  snapshot: Uint8Array | null = null;
  /** Records appended since that checkpoint. */
  records: Uint8Array[] = [];
  #holder: object | null = null;

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
}

/**
 * An adapter that keeps everything in memory: for tests and demos. Bytes are copied in and
 * out, so later changes to a caller's buffer never reach the store.
 *
 * @example
 * const store = await openStore({ adapter: memoryAdapter() });
 */
export function memoryAdapter(volume: MemoryVolume = new MemoryVolume()): PersistenceAdapter & { readonly volume: MemoryVolume } {
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
    },
    async checkpoint(snapshot: Uint8Array): Promise<void> {
      requireOpen();
      volume.snapshot = snapshot.slice();
      volume.records = [];
    },
    async close(): Promise<void> {
      open = false;
      volume.unlock(self);
    },
  };
}
