import type { PersistenceAdapter } from '../../src/index.js';

/** One storage location under test, reopened as often as a test likes. */
export interface AdapterHarness {
  /** A new adapter over the same underlying storage each call, like reopening the same path. */
  open(): PersistenceAdapter;
  /** Makes the storage as if its holder had died without close(): releases its lock, keeps its bytes. */
  crash(): void | Promise<void>;
  /** Deletes the storage. */
  destroy(): Promise<void>;
}

/** Makes a fresh, empty storage location for one test. */
export type HarnessFactory = () => AdapterHarness | Promise<AdapterHarness>;
