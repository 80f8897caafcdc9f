// The page side of `bench/browser-bench.ts`: runs each case in Chromium and hands the
// per-operation latencies (ms) back to the Node script, which does the statistics.
import { PGlite } from '@electric-sql/pglite';
import { openStore, type PersistenceAdapter, type SQLiteStore } from 'agent-ops-store';
import { indexedDbAdapter } from 'agent-ops-store/adapters/indexeddb';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { payload } from '../payloads.js';
import type { Built, Contender } from './contender.js';
import { sqliteWasmContender } from './sqlite-wasm-anchor.js';
import { waSqliteContender } from './wa-sqlite-anchor.js';

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

async function dbBytes(store: SQLiteStore): Promise<number> {
  const [row] = (await store.query('SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()')) as {
    bytes: number;
  }[];
  return row!.bytes;
}

/** The adapter, with the time of each append (the IndexedDB transaction) noted in `into`. */
function timedAppends(inner: PersistenceAdapter, into: number[]): PersistenceAdapter {
  return {
    location: inner.location,
    load: () => inner.load(),
    async append(record) {
      const t = performance.now();
      await inner.append(record);
      into.push(performance.now() - t);
    },
    checkpoint: (snapshot) => inner.checkpoint(snapshot),
    close: () => inner.close(),
  };
}

let contenders: Contender[] = [];

/** A fresh store filled to about `targetBytes` (transactions of 250 calls), closed and reopened. */
async function storeContender(name: string, targetBytes: number, memory: boolean): Promise<Built> {
  await deleteDatabase(`agent-ops-store:${name}`);
  const volume = memoryAdapter().volume;
  const appends: number[] = [];
  const adapter = () => timedAppends(memory ? memoryAdapter(volume) : indexedDbAdapter(name), appends);
  let store = await openStore({ adapter: adapter() });
  const mission = (await store.missions.create({ phase: 'CODING', uuid: 'bench' })).id;
  const fillStart = performance.now();
  let i = 0;
  while ((await dbBytes(store)) < targetBytes) {
    await store.transaction(async (tx) => {
      for (let k = 0; k < 250; k++, i++) await tx.toolCalls.record({ mission, ...payload(i) });
    });
  }
  await store.close();
  const fillMs = performance.now() - fillStart;
  const openStart = performance.now();
  store = await openStore({ adapter: adapter() });
  const openMs = performance.now() - openStart;
  const bytes = await dbBytes(store);
  const rows = ((await store.query('SELECT count(*) AS n FROM tool_calls')) as { n: number }[])[0]!.n;
  appends.length = 0;
  const contender: Contender = {
    name,
    samples: [],
    appends,
    op: async (k) => {
      await store.toolCalls.record({ mission, ...payload(i + k) });
    },
    teardown: async () => {
      await store.close();
      await deleteDatabase(`agent-ops-store:${name}`);
    },
  };
  contenders.push(contender);
  return { name, bytes, rows, fillMs, openMs };
}

/** The floor under every durable write: one strict IndexedDB transaction of a record's size. */
async function appendOnlyContender(bytes: number): Promise<Built> {
  const name = 'bench-append-only';
  await deleteDatabase(`agent-ops-store:${name}`);
  const adapter = indexedDbAdapter(name);
  await adapter.load();
  const record = new Uint8Array(bytes).map((_, k) => k & 0xff);
  contenders.push({
    name,
    samples: [],
    appends: [],
    op: () => adapter.append(record),
    teardown: async () => {
      await adapter.close();
      await deleteDatabase(`agent-ops-store:${name}`);
    },
  });
  return { name };
}

/**
 * Builds the contenders: a store per size on IndexedDB, one on the memory adapter, a bare
 * append, and the anchor engines (sqlite-wasm in a Worker, wa-sqlite), each filled to the
 * first size with the same tool calls.
 */
async function setup(options: { sizes: number[]; recordBytes: number }) {
  contenders = [];
  const built: Built[] = [];
  for (const size of options.sizes) built.push(await storeContender(`bench-${size}`, size, false));
  built.push(await storeContender('bench-memory', options.sizes[0]!, true));
  built.push(await appendOnlyContender(options.recordBytes));
  for (const anchor of [sqliteWasmContender, waSqliteContender]) {
    const { contender, built: info } = await anchor(options.sizes[0]!);
    contenders.push(contender);
    built.push(info);
  }
  return built;
}

/**
 * Times `count` rounds after `warmup`; each round runs one op of every contender, in an
 * order that rotates, so noise and background work hit all of them alike.
 */
async function rounds(options: { warmup: number; count: number }) {
  for (let r = 0; r < options.warmup + options.count; r++) {
    for (let c = 0; c < contenders.length; c++) {
      const contender = contenders[(r + c) % contenders.length]!;
      const before = contender.appends.length;
      const t = performance.now();
      await contender.op(r);
      const elapsed = performance.now() - t;
      if (r < options.warmup) contender.appends.length = before;
      else contender.samples.push(elapsed);
    }
  }
  const out = contenders.map((c) => ({ name: c.name, samples: c.samples, appends: c.appends }));
  for (const c of contenders) await c.teardown();
  contenders = [];
  return out;
}

/** The same insert on PGlite's idb:// storage (default durability), on a table of about `targetBytes`. */
async function pglite(options: { targetBytes: number; warmup: number; count: number }) {
  const name = 'bench-pglite';
  await deleteDatabase(`/pglite/${name}`);
  const db = await PGlite.create(`idb://${name}`);
  await db.exec(`
    CREATE TABLE missions (id serial PRIMARY KEY, mission_uuid text UNIQUE NOT NULL, phase text NOT NULL);
    CREATE TABLE tool_calls (
      id serial PRIMARY KEY, mission_id integer NOT NULL REFERENCES missions(id) ON DELETE CASCADE,
      tool_name text NOT NULL, args text NOT NULL, result text, timestamp text NOT NULL,
      duration_ms integer, success boolean NOT NULL, error_message text, agent_name text);
    CREATE INDEX ON tool_calls (mission_id, timestamp);
    CREATE INDEX ON tool_calls (success);
    INSERT INTO missions (mission_uuid, phase) VALUES ('bench', 'CODING');`);
  const insert = (i: number) => {
    const p = payload(i);
    return db.query(
      'INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [1, p.toolName, JSON.stringify(p.args), JSON.stringify(p.result), new Date().toISOString(), p.durationMs, p.success],
    );
  };
  let i = 0;
  // Fill in one transaction, then time single autocommit inserts.
  await db.transaction(async (tx) => {
    const p = payload(0);
    const rows = Math.ceil(options.targetBytes / 1100);
    await tx.query(
      `INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success)
       SELECT 1, $1, $2, $3, $4, 5, true FROM generate_series(1, ${rows})`,
      [p.toolName, JSON.stringify(p.args), JSON.stringify(p.result), new Date().toISOString()],
    );
  });
  const [{ bytes }] = (await db.query<{ bytes: number }>("SELECT pg_total_relation_size('tool_calls')::int AS bytes")).rows as [
    { bytes: number },
  ];
  const samples: number[] = [];
  for (let k = 0; k < options.warmup + options.count; k++, i++) {
    const t = performance.now();
    await insert(i);
    if (k >= options.warmup) samples.push(performance.now() - t);
  }
  await db.close();
  await deleteDatabase(`/pglite/${name}`);
  return { samples, bytes };
}

const cases = { setup, rounds, pglite };
(window as unknown as { aosBench: typeof cases }).aosBench = cases;
