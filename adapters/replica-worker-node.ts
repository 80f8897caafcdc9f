// The entry of the checkpoint replica's worker thread in Node (started by adapters/replica-node.ts).
import { parentPort } from 'node:worker_threads';
import { serveReplica } from '../src/replica-worker.js';

if (parentPort) {
  const port = parentPort;
  serveReplica({
    post: (message, transfer = []) => port.postMessage(message, [...transfer]),
    listen: (onMessage) => port.on('message', onMessage),
  });
}
