// The page side of the sqlite-wasm anchor: starts sqlite-wasm-worker.ts and makes it a
// contender whose op is one posted insert, timed from post to reply, which is what a page pays.
import { payload } from '../payloads.js';
import type { Built, Contender } from './contender.js';
import type { SqliteWasmReply, SqliteWasmRequest } from './sqlite-wasm-worker.js';

type Request = SqliteWasmRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** The worker behind a small request/reply API; one request is in flight at a time, as the rounds loop awaits each. */
function workerClient(worker: Worker) {
  let next = 0;
  const waiting = new Map<number, { resolve: (reply: SqliteWasmReply & { ok: true }) => void; reject: (error: Error) => void }>();
  worker.onmessage = (event: MessageEvent<SqliteWasmReply>) => {
    const reply = event.data;
    const waiter = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.ok) waiter?.resolve(reply);
    else waiter?.reject(new Error(`sqlite-wasm worker: ${reply.error}`));
  };
  // A worker that fails to load (a bad module URL, a missing wasm) reports only here.
  worker.onerror = (event) => {
    for (const waiter of waiting.values()) waiter.reject(new Error(`sqlite-wasm worker failed: ${event.message}`));
    waiting.clear();
  };
  return (request: Request) =>
    new Promise<SqliteWasmReply & { ok: true }>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
}

/**
 * `@sqlite.org/sqlite-wasm` on `opfs-sahpool` in a dedicated Worker (exclusive locking, WAL,
 * synchronous=FULL), filled to about `targetBytes`, as a contender: each op posts one tool
 * call's payload and awaits the durable commit's reply. `appends` gets the time inside the worker.
 */
export async function sqliteWasmContender(targetBytes: number): Promise<{ contender: Contender; built: Built }> {
  const name = 'sqlite-wasm opfs-sahpool';
  const worker = new Worker(new URL('./sqlite-wasm-worker.ts', import.meta.url), { type: 'module' });
  const request = workerClient(worker);
  const { opened } = await request({ kind: 'open', targetBytes });
  const appends: number[] = [];
  const contender: Contender = {
    name,
    samples: [],
    appends,
    op: async (i) => {
      const reply = await request({ kind: 'insert', payload: payload(i) });
      appends.push(reply.workerMs!);
    },
    teardown: async () => {
      await request({ kind: 'close' });
      worker.terminate();
    },
  };
  return { contender, built: { name, ...opened! } };
}
