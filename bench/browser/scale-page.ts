// The page side of `bench/browser-scale-bench.ts`: builds a store of a given size on IndexedDB,
// checkpoints it under a main-thread stall monitor (on the page: the store has no replica yet),
// reopens it (the replica starts in a Web Worker), checkpoints again from the replica, writes
// while background checkpoints from the replica run, and reopens it. A step that fails is reported as a result (its message), never thrown to the script.
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
  /** A checkpoint asked for after the reopen, taken from the replica in the Web Worker. */
  replicaCheckpointMs?: number;
  replicaCheckpointStallMs?: number;
  replicaCheckpointError?: string;
  writes?: number[];
  writeCheckpoints?: number;
  writeCheckpointMs?: number[];
  /** Of the checkpoints during the writes: how long each commit held the store's queue (writes waited on it). */
  writeCommitMs?: number[];
  writeStallMs?: number;
  /** The page's long tasks (over 50 ms, PerformanceObserver 'longtask') during the timed writes, longest first: a stall without one is the thread waiting its turn on a loaded machine, not the page's own work. */
  writeLongTasksMs?: number[];
  /** Where each of those long tasks fell: in a checkpoint's preparation (hashing, chunks written ahead), in its commit, or outside both. */
  writeLongTaskPhases?: string[];
  writeError?: string;
  /** The same writes on the same store with no checkpoint (the replica still fed): the page's floor on this machine. */
  floorWrites?: number[];
  floorStallMs?: number;
  /** When the timed writes ran (epoch ms), with background checkpoints and then without: the bench matches the tab's memory to them. */
  writesWindow?: [number, number];
  floorWindow?: [number, number];
  floorError?: string;
  closeError?: string;
  reopenMs?: number;
  reopenError?: string;
}

/** A checkpoint policy that never fires: the fill stays in the log until the measured checkpoint. */
const NEVER = { minLogBytes: 1e12, maxLogBytes: 1e12 };
/** The log size that triggers a background checkpoint while writes are timed. */
const WRITE_CHECKPOINT_BYTES = 1 << 20;
const WRITES = 4000;

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

const message = (error: unknown) =>
  error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);

/**
 * `inner`, timing its checkpoints: a whole one (`checkpoint`) into `into`; one taken from the
 * replica from the start of `prepareCheckpoint` to the end of its commit into `into`, and its
 * commit alone (what holds up writes) into `commits`.
 */
/** When each checkpoint's preparation and commit ran (performance.now()), to place the page's long tasks. */
interface Phase {
  readonly what: 'prepare' | 'commit';
  readonly start: number;
  end: number;
}

function timedCheckpoints(inner: PersistenceAdapter, into: number[], commits: number[] = [], phases: Phase[] = []): PersistenceAdapter {
  return {
    location: inner.location,
    maxBytes: inner.maxBytes,
    load: () => inner.load(),
    append: (record) => inner.append(record),
    async checkpoint(snapshot) {
      const t = performance.now();
      await inner.checkpoint(snapshot);
      into.push(performance.now() - t);
    },
    async prepareCheckpoint(snapshot) {
      const t = performance.now();
      const preparing: Phase = { what: 'prepare', start: t, end: Number.POSITIVE_INFINITY };
      phases.push(preparing);
      const prepared = await inner.prepareCheckpoint!(snapshot);
      preparing.end = performance.now();
      return {
        async commit(keep) {
          const c = performance.now();
          const committing: Phase = { what: 'commit', start: c, end: Number.POSITIVE_INFINITY };
          phases.push(committing);
          await prepared.commit(keep);
          const end = performance.now();
          committing.end = end;
          commits.push(end - c);
          into.push(end - t);
        },
        discard: () => prepared.discard(),
      };
    },
    spawnReplica: () => inner.spawnReplica!(),
    close: () => inner.close(),
  };
}

/** Now, in ms since the epoch: the clock the bench's memory samples use. */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
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
      // Reopened above workerMinBytes (16 MiB): the store starts its replica in a Web Worker, and
      // checkpoints are taken from it while writes go on.
      const checkpointMs: number[] = [];
      const commitMs: number[] = [];
      const phases: Phase[] = [];
      store = await openStore({
        adapter: timedCheckpoints(indexedDbAdapter(name, { lock: 'fail' }), checkpointMs, commitMs, phases),
        checkpoint: { minLogBytes: WRITE_CHECKPOINT_BYTES, maxLogBytes: WRITE_CHECKPOINT_BYTES },
      });
      for (let i = 0; i < 200; i++) await store.toolCalls.record({ mission, ...payload(i) });
      monitor.start();
      t = performance.now();
      try {
        await store.checkpoint();
        figures.replicaCheckpointMs = performance.now() - t;
      } catch (error) {
        figures.replicaCheckpointError = message(error);
      }
      figures.replicaCheckpointStallMs = await monitor.stop();
      checkpointMs.length = 0;
      commitMs.length = 0;
      const samples: number[] = [];
      const longTasks: { start: number; duration: number }[] = [];
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) longTasks.push({ start: entry.startTime, duration: entry.duration });
      });
      observer.observe({ type: 'longtask' });
      monitor.start();
      const writesFrom = epochNow();
      try {
        for (let i = 0; i < WRITES; i++) {
          t = performance.now();
          await store.toolCalls.record({ mission, ...payload(i) });
          samples.push(performance.now() - t);
        }
      } catch (error) {
        figures.writeError = message(error);
      }
      figures.writesWindow = [writesFrom, epochNow()];
      figures.writeStallMs = await monitor.stop();
      observer.disconnect();
      const longest = longTasks.sort((a, b) => b.duration - a.duration).slice(0, 5);
      figures.writeLongTasksMs = longest.map((task) => task.duration);
      figures.writeLongTaskPhases = longest.map((task) => {
        const end = task.start + task.duration;
        return phases.find((phase) => task.start < phase.end && end > phase.start)?.what ?? 'outside';
      });
      figures.writes = samples;
      figures.writeCheckpoints = checkpointMs.length;
      figures.writeCheckpointMs = [...checkpointMs];
      figures.writeCommitMs = [...commitMs];
      // The floor: the same writes with checkpoints off, so a stall or a p99 above can be told
      // from what this machine gives the page with no checkpoint at all.
      await store.close();
      store = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), checkpoint: NEVER });
      const floor: number[] = [];
      monitor.start();
      const floorFrom = epochNow();
      try {
        for (let i = 0; i < WRITES; i++) {
          t = performance.now();
          await store.toolCalls.record({ mission, ...payload(i) });
          floor.push(performance.now() - t);
        }
      } catch (error) {
        figures.floorError = message(error);
      }
      figures.floorWindow = [floorFrom, epochNow()];
      figures.floorStallMs = await monitor.stop();
      figures.floorWrites = floor;
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
