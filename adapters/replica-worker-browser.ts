// The entry of the checkpoint replica's module Web Worker (started by adapters/replica-browser.ts).
import { serveReplica } from '../src/replica-worker.js';
import { writeChunksAhead } from './indexeddb-ahead.js';
import { CHUNK_BYTES, hashChunks } from './snapshot-chunks.js';

/** The worker's global scope, as much of it as the replica uses (the library is typed for the page). */
const scope = globalThis as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
};

serveReplica(
  {
    post: (message, transfer = []) => scope.postMessage(message, [...transfer]),
    listen: (onMessage) => {
      scope.onmessage = (event) => onMessage(event.data);
    },
  },
  // The IndexedDB adapter writes only the chunks whose hash changed. WebCrypto digests on the
  // thread that asks, a task per MiB: here, that is this worker instead of the page (at 500 MB,
  // ~500 tasks of 5–50 ms each per checkpoint were the page's longest ones while writes went on).
  // The chunks that changed are then written into the store's database from here too (see
  // writeChunksAhead): they never cross to the page.
  {
    chunkHashes: { chunkBytes: CHUNK_BYTES, hash: (snapshot) => hashChunks(snapshot, CHUNK_BYTES) },
    writeAhead: (database, chunks) => writeChunksAhead(database, chunks),
  },
);
