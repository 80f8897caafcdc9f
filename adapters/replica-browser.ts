import { messageOf, StoreError } from '../src/errors.js';
import type { ReplicaPort } from '../src/persistence-adapter.js';

/**
 * Starts a module Web Worker running the checkpoint replica (`adapters/replica-worker-browser.ts`).
 * Throws StoreError IO where no worker can start here (no `Worker` global, or a policy that
 * forbids it at once); a worker that fails later (its script refused or broken) reports through
 * `listen`'s `onError`, and the store then checkpoints on the page.
 */
export function startBrowserReplica(): ReplicaPort {
  if (typeof Worker !== 'function') {
    throw new StoreError('IO', 'cannot start the checkpoint replica: Web Workers are unavailable here');
  }
  let worker: Worker;
  try {
    // Written out in full so that Vite (tests, the library build, an app's build) bundles the
    // worker with its imports and the inlined sql.js wasm, as a file of the page's origin.
    worker = new Worker(new URL('./replica-worker-browser.ts', import.meta.url), { type: 'module', name: 'agent-ops-store replica' });
  } catch (error) {
    throw new StoreError('IO', `cannot start the checkpoint replica's Web Worker: ${messageOf(error)}`, { cause: error });
  }
  let ended = false;
  return {
    post: (message, transfer = []) => worker.postMessage(message, [...transfer]),
    listen: (onMessage, onError) => {
      worker.onmessage = (event: MessageEvent) => onMessage(event.data);
      worker.onerror = (event: ErrorEvent) => {
        // Handled here: the store warns and goes on without the replica.
        event.preventDefault();
        if (!ended) onError(new Error(`the replica's Web Worker failed: ${event.message || 'its script did not load or threw'}`));
      };
      worker.onmessageerror = () => {
        if (!ended) onError(new Error("a message from the replica's Web Worker could not be read"));
      };
    },
    terminate: async () => {
      ended = true;
      worker.terminate();
    },
  };
}
