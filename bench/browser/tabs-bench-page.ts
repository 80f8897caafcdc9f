// The page side of `bench/browser-tabs-bench.ts`: one tab of a store that several tabs share.
// Times are absolute (timeOrigin + now), so the Node script can compare two tabs' clocks.
import { openStore, type SQLiteStore } from 'agent-ops-store';
import { indexedDbAdapter } from 'agent-ops-store/adapters/indexeddb';
import { payload } from '../payloads.js';

let store: SQLiteStore | null = null;
const heard = new Map<number, number>();
const now = () => performance.timeOrigin + performance.now();

const need = (): SQLiteStore => {
  if (!store) throw new Error('no store open in this tab');
  return store;
};

(window as unknown as { aosTabs: object }).aosTabs = {
  /** Opens the shared store; the first tab to open it leads. */
  async open({ name }: { name: string }) {
    store = await openStore({ adapter: indexedDbAdapter(name) });
    need().subscribe(({ changes }) => {
      const t = now();
      for (const change of changes ?? []) if (change.table === 'tool_calls' && change.op === 'insert') heard.set(change.rowid, t);
    });
    return true;
  },
  async mission({ uuid }: { uuid: string }) {
    await need().missions.create({ phase: 'CODING', uuid });
    return true;
  },
  /** `count` records after `warmup`, one at a time: each one's latency in ms, and its id with its start time. */
  async record({ mission, warmup, count }: { mission: string; warmup: number; count: number }) {
    const samples: number[] = [];
    const starts: [number, number][] = [];
    for (let i = 0; i < warmup + count; i++) {
      const t = now();
      const call = await need().toolCalls.record({ mission, ...payload(i) });
      if (i >= warmup) {
        samples.push(now() - t);
        starts.push([call.id, t]);
      }
    }
    return { samples, starts };
  },
  /** When this tab's change feed told of each tool_calls row. */
  async heard() {
    return [...heard.entries()];
  },
  async close() {
    await need().close();
    return true;
  },
};
