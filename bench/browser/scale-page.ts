// The page side of `bench/browser-scale-bench.ts`: builds a store of a given size on IndexedDB,
// checkpoints it under a main-thread stall monitor, writes while background checkpoints run, and
// reopens it. A step that fails is reported as a result (its message), never thrown to the script.
import { openStore, type PersistenceAdapter, type SQLiteStore } from 'agent-ops-store';
import { indexedDbAdapter } from 'agent-ops-store/adapters/indexeddb';
import { payload } from '../payloads.js';
import { StallMonitor } from '../stall-monitor.js';

/** What one size gives back; a failed step leaves its figures out and says why. */
export interface PageScaleFigures {
  targetBytes: number;
  bytes?: number;
  calls?: number;
  fillMs?: number;
  checkpointMs?: number;
  checkpointStallMs?: number;
  checkpointError?: string;
  writes?: number[];
  writeCheckpoints?: number;
  writeCheckpointMs?: number[];
  writeStallMs?: number;
  writeError?: string;
  closeError?: string;
  reopenMs?: number;
  reopenError?: string;
}

/** A checkpoint policy that never fires: the fill stays in the log until the measured checkpoint. */
const NEVER = { minLogBytes: 1e12, maxLogBytes: 1e12 };
/** The log size that triggers a background checkpoint while writes are timed. */
const WRITE_CHECKPOINT_BYTES = 2 << 20;
const WRITES = 1500;

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

const message = (error: unknown) =>
  error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);

function timedCheckpoints(inner: PersistenceAdapter, into: number[]): PersistenceAdapter {
  return {
    location: inner.location,
    load: () => inner.load(),
    append: (record) => inner.append(record),
    async checkpoint(snapshot) {
      const t = performance.now();
      await inner.checkpoint(snapshot);
      into.push(performance.now() - t);
    },
    close: () => inner.close(),
  };
}

async function pageBytes(store: SQLiteStore): Promise<number> {
  const [row] = await store.query<{ n: number }>('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()');
  return row!.n;
}

async function scale(options: { targetBytes: number }): Promise<PageScaleFigures> {
  const name = `bench-scale-${options.targetBytes}`;
  await deleteDatabase(`agent-ops-store:${name}`);
  const figures: PageScaleFigures = { targetBytes: options.targetBytes };
  const monitor = new StallMonitor();
  let store = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), checkpoint: NEVER });
  try {
    const mission = (await store.missions.create({ phase: 'CODING', uuid: 'bench' })).id;
    let t = performance.now();
    let calls = 0;
    while ((await pageBytes(store)) < options.targetBytes) {
      await store.transaction(async (tx) => {
        for (let k = 0; k < 2000; k++, calls++) await tx.toolCalls.record({ mission, ...payload(calls) });
      });
    }
    figures.fillMs = performance.now() - t;
    figures.calls = calls;
    figures.bytes = await pageBytes(store);

    monitor.start();
    t = performance.now();
    try {
      await store.checkpoint();
      figures.checkpointMs = performance.now() - t;
    } catch (error) {
      figures.checkpointError = message(error);
    }
    figures.checkpointStallMs = await monitor.stop();
    if (figures.checkpointError === undefined) {
      await store.close();
      const checkpointMs: number[] = [];
      store = await openStore({
        adapter: timedCheckpoints(indexedDbAdapter(name, { lock: 'fail' }), checkpointMs),
        checkpoint: { minLogBytes: WRITE_CHECKPOINT_BYTES, maxLogBytes: WRITE_CHECKPOINT_BYTES },
      });
      const samples: number[] = [];
      monitor.start();
      try {
        for (let i = 0; i < WRITES; i++) {
          t = performance.now();
          await store.toolCalls.record({ mission, ...payload(i) });
          samples.push(performance.now() - t);
        }
      } catch (error) {
        figures.writeError = message(error);
      }
      figures.writeStallMs = await monitor.stop();
      figures.writes = samples;
      figures.writeCheckpoints = checkpointMs.length;
      figures.writeCheckpointMs = checkpointMs;
    }
  } finally {
    try {
      await store.close();
    } catch (error) {
      figures.closeError = message(error);
    }
  }
  // Reopen: after a clean close, or after a failed checkpoint, by replaying the whole log.
  try {
    const t = performance.now();
    store = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), checkpoint: NEVER });
    await store.query('SELECT count(*) FROM tool_calls');
    figures.reopenMs = performance.now() - t;
    await store.close().catch(() => undefined);
  } catch (error) {
    figures.reopenError = message(error);
  }
  await deleteDatabase(`agent-ops-store:${name}`);
  return figures;
}

const cases = { scale };
(window as unknown as { aosScale: typeof cases }).aosScale = cases;
