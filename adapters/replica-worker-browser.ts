// The entry of the checkpoint replica's module Web Worker (started by adapters/replica-browser.ts).
import { serveReplica } from '../src/replica-worker.js';

/** The worker's global scope, as much of it as the replica uses (the library is typed for the page). */
const scope = globalThis as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
};

serveReplica({
  post: (message, transfer = []) => scope.postMessage(message, [...transfer]),
  listen: (onMessage) => {
    scope.onmessage = (event) => onMessage(event.data);
  },
});
