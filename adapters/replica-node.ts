import { Worker } from 'node:worker_threads';
import { StoreError } from '../src/errors.js';
import type { ReplicaPort } from '../src/persistence-adapter.js';

/** The worker's file, built beside the adapter (`dist/adapters/`). */
const WORKER_FILE = './replica-worker-node.js';

/**
 * Starts a `worker_thread` running the replica (`adapters/replica-worker-node.ts`). The thread is
 * unreferenced: like the store's lock, it never keeps a process alive.
 */
export function startNodeReplica(): ReplicaPort {
  let worker: Worker;
  try {
    worker = new Worker(workerUrl());
  } catch (error) {
    throw new StoreError('IO', `cannot start the checkpoint replica's worker thread: ${String(error)}`, { cause: error });
  }
  worker.unref();
  let ended = false;
  return {
    post: (message, transfer = []) => worker.postMessage(message, [...transfer]),
    listen: (onMessage, onError) => {
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', (code) => {
        if (!ended) onError(new Error(`the replica's worker thread exited (code ${code})`));
      });
    },
    terminate: async () => {
      ended = true;
      await worker.terminate();
    },
  };
}

/**
 * Where the worker's file is. From the sources (a test runner that compiles TypeScript on the
 * fly), it is the built one: a worker thread gets no such compiler, and `npm test` builds first.
 */
function workerUrl(): URL {
  // Held in a variable so a bundler does not take `new URL(…, import.meta.url)` for an asset.
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../dist/adapters/replica-worker-node.js', here) : new URL(WORKER_FILE, here);
}
