import { indexedDbAdapter } from '../../adapters/indexeddb.js';
import type { PersistenceAdapter } from '../../src/index.js';
import type { AdapterHarness } from '../contract/harness.js';

let counter = 0;

/**
 * A fresh IndexedDB database per harness. `crash` closes the adapters it opened at the
 * adapter level only (no store checkpoint): the Web Lock goes, as a dead tab's would, and
 * whatever was appended stays in the log for the next open to replay.
 */
export function indexedDbHarness(): AdapterHarness {
  const name = `test-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const opened: PersistenceAdapter[] = [];
  return {
    open() {
      const adapter = indexedDbAdapter(name);
      opened.push(adapter);
      return adapter;
    },
    async crash() {
      await Promise.all(opened.splice(0).map((adapter) => adapter.close()));
    },
    async destroy() {
      await Promise.all(opened.splice(0).map((adapter) => adapter.close()));
      await deleteDatabase(`agent-ops-store:${name}`);
    },
  };
}

/**
 * Deletes an IndexedDB database. 'blocked' is only a notice (a closed connection can still
 * be finishing its last transaction); the delete goes ahead once it ends.
 */
export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}
