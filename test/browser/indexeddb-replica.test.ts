import { afterEach, describe, expect, it } from 'vitest';
import { indexedDbAdapter } from '../../adapters/indexeddb.js';
import { CHUNK_BYTES, chunkOf, hashChunks } from '../../adapters/snapshot-chunks.js';
import { isStoreError, openStore, type PersistenceAdapter, type SQLiteStore } from '../../src/index.js';
import type { PreparedCheckpoint, SnapshotChunks, SnapshotHints } from '../../src/persistence-adapter.js';
import { deleteDatabase } from './indexeddb-harness.js';
import { openTab, storedChunks, storedKeys, type Tab, watchAcks } from './tab.js';

// Checkpoints taken from the replica in a Web Worker: the export runs in the worker, the page only
// hashes (sliced) and commits, and writes go on while a checkpoint is prepared; the records
// appended meanwhile stay in the log and extend the new snapshot.

let tabs: Tab[] = [];
let stores: SQLiteStore[] = [];
let names: string[] = [];
const uniqueName = (what: string) => {
  const name = `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  names.push(name);
  return name;
};
/** Every checkpoint from the replica: the worker always, and one as soon as 16 KiB of log piled up. */
const FROM_REPLICA = { workerMinBytes: 0, minLogBytes: 16 << 10, logRatio: 0 };
const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const isRecordKey = (key: unknown) => typeof key === 'number';
const sameBytes = (a: Uint8Array | null, b: Uint8Array) => a !== null && a.length === b.length && a.every((byte, i) => byte === b[i]);

/** Follows a tab's acknowledgements from now on: the returned function gives the highest seen so far. */
function trackAcks(tab: Tab): () => number {
  let latest = 0;
  void watchAcks(tab, (n) => {
    latest = Math.max(latest, n);
    return false;
  }).catch(() => undefined);
  return () => latest;
}

/**
 * Waits until the store's log holds fewer records than the writer had acknowledged: a checkpoint
 * (about one per 16 KiB of records) cut it while the tab wrote. How soon the first one commits
 * depends on the machine's load, so this waits for it rather than expecting it within a count.
 */
async function untilLogCut(name: string, acknowledged: () => number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const records = (await storedKeys(`agent-ops-store:${name}`)).filter(isRecordKey).length;
    if (records < acknowledged()) return;
    if (Date.now() > deadline) {
      expect.fail(`no checkpoint cut the log of ${name} in 30 s: ${records} record(s), ${acknowledged()} acknowledged`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

afterEach(async () => {
  for (const t of tabs) t.remove();
  for (const s of stores) if (!s.closed) await s.close().catch(() => undefined);
  for (const name of names) await deleteDatabase(`agent-ops-store:${name}`);
  tabs = [];
  stores = [];
  names = [];
});

/** What the gated adapter saw: prepared checkpoints, and the `keep` of each commit. */
interface Gate {
  prepared: number;
  readonly kept: number[];
  /** Lets the first prepared checkpoint go on (it waits until then, before the adapter prepares it). */
  open(): void;
}

/** `adapter`, except that its first `prepareCheckpoint` waits for the gate, and commits are counted. */
function gated(adapter: PersistenceAdapter): { adapter: PersistenceAdapter; gate: Gate } {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  const gate: Gate = { prepared: 0, kept: [], open: () => release() };
  const prepare = async (snapshot: Uint8Array): Promise<PreparedCheckpoint> => {
    gate.prepared++;
    await opened;
    const prepared = await adapter.prepareCheckpoint!(snapshot);
    return {
      commit: async (keep) => {
        await prepared.commit(keep);
        gate.kept.push(keep);
      },
      discard: () => prepared.discard(),
    };
  };
  const wrapped = new Proxy(adapter, {
    get(target, key) {
      if (key === 'prepareCheckpoint') return prepare;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { adapter: wrapped, gate };
}

async function until(what: string, done: () => boolean, write: () => Promise<void>, limit = 2000): Promise<void> {
  for (let i = 0; i < limit && !done(); i++) {
    await write();
    await macrotask();
  }
  if (!done()) throw new Error(`${what} did not happen within ${limit} writes`);
}

describe('indexeddb checkpoints from the replica (Web Worker)', () => {
  it('the worker hashes the chunks: the page digests only the first chunk of a checkpoint, and the chunks it skips are the unchanged ones', async () => {
    const subtle = crypto.subtle as { digest: SubtleCrypto['digest'] };
    const original = crypto.subtle.digest.bind(crypto.subtle);
    let pageDigests = 0;
    subtle.digest = (algorithm, data) => {
      pageDigests++;
      return original(algorithm, data);
    };
    try {
      const name = uniqueName('replica-hashes');
      // A replica from the start, and no checkpoint but the ones asked for (they go through it).
      const checkpoint = { workerMinBytes: 0, minLogBytes: 1e12, maxLogBytes: 1e12 };
      // What reaches the page: the whole database, or the chunks that differ from the manifest.
      const received: ({ sent: number; written: number } | 'whole')[] = [];
      const watched = (adapter: PersistenceAdapter) =>
        new Proxy(adapter, {
          get(target, key) {
            if (key !== 'prepareCheckpoint') {
              const value = Reflect.get(target, key, target);
              return typeof value === 'function' ? value.bind(target) : value;
            }
            return (snapshot: Uint8Array | SnapshotChunks, hints?: SnapshotHints) => {
              received.push(
                snapshot instanceof Uint8Array ? 'whole' : { sent: snapshot.chunks.size, written: snapshot.written?.length ?? 0 },
              );
              return target.prepareCheckpoint!(snapshot, hints);
            };
          },
        });
      const open = () => openStore({ adapter: watched(indexedDbAdapter(name, { lock: 'fail' })), checkpoint, onWarning: () => undefined });
      const store = await open();
      stores.push(store);
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-hashes' });
      // About 4.5 chunks of calls, each with its own text, so that every chunk differs.
      await store.transaction(async (tx) => {
        for (let i = 0; i < 45; i++) {
          await tx.toolCalls.record({ mission: 'm-hashes', toolName: `h-${i}`, args: { pad: `${i}:`.repeat(35_000) }, success: true });
        }
      });
      pageDigests = 0;
      await store.checkpoint();
      expect(pageDigests).toBe(1);
      // A change in one place: the next checkpoint must find the chunk that holds it changed.
      await store.run("UPDATE tool_calls SET tool_name = 'changed' WHERE tool_name = 'h-20'");
      pageDigests = 0;
      await store.checkpoint();
      expect(pageDigests).toBe(1);
      // Neither crossed to the page whole: chunk 0 alone (the header the store stamps), the
      // worker having written the others that changed (every chunk of the new calls, then the
      // changed row's) into the database itself.
      expect(received).toEqual([
        { sent: 1, written: expect.any(Number) },
        { sent: 1, written: expect.any(Number) },
      ]);
      const [all, few] = (received as { written: number }[]).map((r) => r.written);
      expect(all).toBeGreaterThanOrEqual(4);
      expect(few).toBeGreaterThanOrEqual(1);
      expect(few).toBeLessThan(all!);
      // Each chunk stored is its own bytes alone (a view stored as it is would carry the whole
      // buffer behind it: the database file, in the worker).
      const values = await storedChunks(`agent-ops-store:${name}`);
      expect(values.length).toBeGreaterThanOrEqual(5);
      for (const value of values) {
        expect(value).toBeInstanceOf(Uint8Array);
        expect((value as Uint8Array).buffer.byteLength).toBe((value as Uint8Array).byteLength);
        expect((value as Uint8Array).byteLength).toBeLessThanOrEqual(CHUNK_BYTES);
      }
      await store.close();
      const again = await open();
      stores.push(again);
      expect((await again.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
      const names = await again.query<{ tool_name: string }>('SELECT tool_name FROM tool_calls ORDER BY id');
      expect(names.map((r) => r.tool_name)).toEqual(Array.from({ length: 45 }, (_, i) => (i === 20 ? 'changed' : `h-${i}`)));
    } finally {
      subtle.digest = original;
    }
  });

  it('writes go on while a checkpoint is pending; the records appended meanwhile are kept; a reopen reads every row', async () => {
    const name = uniqueName('replica');
    const { adapter, gate } = gated(indexedDbAdapter(name, { lock: 'fail' }));
    const warnings: string[] = [];
    const store = await openStore({ adapter, checkpoint: FROM_REPLICA, onWarning: (m) => warnings.push(m) });
    stores.push(store);
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-replica' });
    let written = 0;
    const write = async () => {
      written++;
      await store.toolCalls.record({
        mission: 'm-replica',
        toolName: `w-${written}`,
        args: { n: written, pad: 'x'.repeat(300) },
        success: true,
      });
    };
    await until('a checkpoint from the replica', () => gate.prepared > 0, write);
    // The checkpoint waits at the gate: these writes are acknowledged while it is pending.
    for (let i = 0; i < 40; i++) {
      await write();
      await macrotask();
    }
    expect(gate.kept).toEqual([]);
    gate.open();
    await until('three commits', () => gate.kept.length >= 3, write);
    // The first commit kept at least the 40 records written while it waited.
    expect(gate.kept[0]).toBeGreaterThanOrEqual(40);
    const keys = await storedKeys(`agent-ops-store:${name}`);
    expect(keys).toContain('manifest');
    expect(warnings.filter((w) => w.includes('export on this thread'))).toEqual([]);
    await store.close();

    const again = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), onWarning: () => undefined });
    stores.push(again);
    const rows = await again.query<{ tool_name: string }>('SELECT tool_name FROM tool_calls ORDER BY id');
    expect(rows.map((r) => r.tool_name)).toEqual(Array.from({ length: written }, (_, i) => `w-${i + 1}`));
    expect((await again.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
  });

  it('an explicit checkpoint while a background one waits: the background one is dropped, nothing fails, nothing reloads', async () => {
    const name = uniqueName('replica-race');
    const inner = indexedDbAdapter(name, { lock: 'fail' });
    // Only the first prepared checkpoint (a background one) waits at the gate; the explicit one
    // after it goes through. Loads are counted: a reload would read the state again.
    let release!: () => void;
    const opened = new Promise<void>((resolve) => {
      release = resolve;
    });
    let prepared = 0;
    let loads = 0;
    const commits: ('committed' | 'discarded')[] = [];
    const adapter = new Proxy(inner, {
      get(target, key) {
        if (key === 'load') {
          return () => {
            loads++;
            return target.load();
          };
        }
        if (key === 'prepareCheckpoint') {
          return async (snapshot: Uint8Array | SnapshotChunks, hints?: SnapshotHints): Promise<PreparedCheckpoint> => {
            if (++prepared === 1) await opened;
            const ready = await target.prepareCheckpoint!(snapshot, hints);
            return {
              commit: async (keep) => {
                await ready.commit(keep);
                commits.push('committed');
              },
              discard: async () => {
                await ready.discard();
                commits.push('discarded');
              },
            };
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const warnings: string[] = [];
    const store = await openStore({ adapter, checkpoint: FROM_REPLICA, onWarning: (m) => warnings.push(m) });
    stores.push(store);
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-race' });
    let written = 0;
    const write = async () => {
      written++;
      await store.toolCalls.record({ mission: 'm-race', toolName: `r-${written}`, args: { pad: 'z'.repeat(300) }, success: true });
    };
    await until('a checkpoint from the replica', () => prepared > 0, write);
    for (let i = 0; i < 20; i++) await write();
    // The background checkpoint waits with the snapshot it exported; this one exports a newer
    // snapshot, commits, and replaces the manifest the waiting one was diffed against.
    await store.checkpoint();
    expect(commits).toEqual(['committed']);
    release();
    // The waiting one is dropped when its turn comes (its generation is gone), and background
    // checkpoints go on after it.
    await until('the waiting checkpoint dropped and another committed', () => commits.filter((c) => c === 'committed').length >= 2, write);
    expect(commits.slice(0, 2)).toEqual(['committed', 'discarded']);
    expect(loads).toBe(1);
    expect(warnings.filter((w) => /checkpoint|export/.test(w))).toEqual([]);
    await store.close();

    const again = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), onWarning: () => undefined });
    stores.push(again);
    expect((await again.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
    const rows = await again.query<{ tool_name: string }>('SELECT tool_name FROM tool_calls ORDER BY id');
    expect(rows.map((r) => r.tool_name)).toEqual(Array.from({ length: written }, (_, i) => `r-${i + 1}`));
  });

  it('after a commit that kept records, the log holds them beside the new snapshot and an open replays them', async () => {
    const name = uniqueName('replica-kept');
    const { adapter, gate } = gated(indexedDbAdapter(name, { lock: 'fail' }));
    const store = await openStore({ adapter, checkpoint: FROM_REPLICA, onWarning: () => undefined });
    stores.push(store);
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-kept' });
    let written = 0;
    const write = async () => {
      written++;
      await store.toolCalls.record({ mission: 'm-kept', toolName: `k-${written}`, args: { pad: 'y'.repeat(300) }, success: true });
    };
    await until('a checkpoint from the replica', () => gate.prepared > 0, write);
    for (let i = 0; i < 25; i++) await write();
    gate.open();
    await until(
      'a commit',
      () => gate.kept.length >= 1,
      async () => undefined,
    );
    const keys = await storedKeys(`agent-ops-store:${name}`);
    // At least the 25 records written while the checkpoint waited are still in the log.
    expect(keys.filter(isRecordKey).length).toBeGreaterThanOrEqual(25);
    expect(keys.filter(isRecordKey).length).toBe(gate.kept[0]);
    // Read the storage as an open does (no close, so no final checkpoint): the snapshot plus the kept records.
    const reader = indexedDbAdapter(name, { lock: 'fail' });
    await adapter.close();
    const state = await reader.load();
    expect(state.records.length).toBe(gate.kept[0]);
    await reader.close();
    // Its adapter is closed: the final checkpoint fails and writes nothing; the worker ends.
    await store.close().catch(() => undefined);
    const again = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), onWarning: () => undefined });
    stores.push(again);
    const rows = await again.query<{ tool_name: string }>('SELECT tool_name FROM tool_calls ORDER BY id');
    expect(rows.map((r) => r.tool_name)).toEqual(Array.from({ length: written }, (_, i) => `k-${i + 1}`));
  });

  it('a tab removed while checkpoints from its replica run loses nothing acknowledged', async () => {
    const name = uniqueName('replica-tab');
    for (const [round, acks] of [40, 300, 600].entries()) {
      const writer = await openTab();
      tabs.push(writer);
      await writer.call('open', { name, lock: 'wait', lockTimeoutMs: 10_000, checkpoint: FROM_REPLICA });
      const mission = `m-${round}`;
      await writer.call('createMission', { uuid: mission });
      const latest = trackAcks(writer);
      const seen = watchAcks(writer, (n) => n >= acks);
      await writer.call('writeForever', { mission });
      await seen;
      if (acks >= 300) await untilLogCut(name, latest);
      const warned = await writer.call<string[]>('warnings');
      // Gone with writes and, most likely, a checkpoint in flight: no close(), no final checkpoint.
      const acknowledged = latest();
      writer.remove();
      tabs = tabs.filter((t) => t !== writer);
      expect(warned.filter((w) => w.includes('export on this thread'))).toEqual([]);

      const store = await openStore({
        adapter: indexedDbAdapter(name, { lock: 'wait', lockTimeoutMs: 10_000 }),
        onWarning: () => undefined,
      });
      const rows = await store.query<{ tool_name: string }>(
        'SELECT t.tool_name FROM tool_calls t JOIN missions m ON m.id = t.mission_id WHERE m.mission_uuid = ?',
        [mission],
      );
      const have = new Set(rows.map((r) => r.tool_name));
      for (let n = 1; n <= acknowledged; n++) expect(have.has(`ack-${n}`), `round ${round}: ack-${n}`).toBe(true);
      expect((await store.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
      await store.close();
    }
  }, 180_000);

  it('where no Web Worker can start, spawnReplica throws IO and the store checkpoints on the page', async () => {
    const original = globalThis.Worker;
    const attempts: string[] = [];
    const restore = () => {
      Object.defineProperty(globalThis, 'Worker', { value: original, configurable: true, writable: true });
    };
    try {
      Object.defineProperty(globalThis, 'Worker', { value: undefined, configurable: true, writable: true });
      const absent = indexedDbAdapter(uniqueName('no-worker'));
      const thrown = (() => {
        try {
          absent.spawnReplica!();
        } catch (error) {
          return error as { code?: string; message?: string };
        }
        return null;
      })();
      expect(thrown?.code).toBe('IO');
      expect(thrown?.message).toMatch(/Web Workers are unavailable/);

      // As a page whose policy refuses the worker's script at once.
      class Refused {
        constructor(url: URL | string) {
          attempts.push(String(url));
          throw new DOMException('refused by the page policy', 'SecurityError');
        }
      }
      Object.defineProperty(globalThis, 'Worker', { value: Refused, configurable: true, writable: true });
      const name = uniqueName('refused-worker');
      const warnings: string[] = [];
      const store = await openStore({
        adapter: indexedDbAdapter(name, { lock: 'fail' }),
        checkpoint: FROM_REPLICA,
        onWarning: (m) => warnings.push(m),
      });
      stores.push(store);
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-page' });
      for (let i = 0; i < 200; i++) {
        await store.toolCalls.record({ mission: 'm-page', toolName: `p-${i}`, args: { pad: 'z'.repeat(300) }, success: true });
      }
      await store.checkpoint();
      expect(attempts.length).toBeGreaterThan(0);
      expect(warnings.some((w) => w.includes('checkpoints export on this thread') && w.includes('refused by the page policy'))).toBe(true);
      const keys = await storedKeys(`agent-ops-store:${name}`);
      expect(keys.filter(isRecordKey)).toEqual([]);
      await store.close();
      restore();
      const again = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), onWarning: () => undefined });
      stores.push(again);
      expect((await again.query<{ n: number }>('SELECT count(*) AS n FROM tool_calls'))[0]!.n).toBe(200);
    } finally {
      restore();
    }
  });

  it('a following tab keeps up with a leader whose checkpoints keep records of the previous generation', async () => {
    const name = uniqueName('replica-share');
    const leader = await openTab();
    tabs.push(leader);
    await leader.call('open', { name, checkpoint: FROM_REPLICA });
    await leader.call('createMission', { uuid: 'm-share' });
    const follower = await openStore({ adapter: indexedDbAdapter(name), onWarning: () => undefined });
    stores.push(follower);
    const seen = new Set<number>();
    let resets = 0;
    follower.subscribe(({ changes, reset }) => {
      if (reset) resets++;
      for (const change of changes) if (change.table === 'tool_calls' && change.op !== 'delete') seen.add(change.rowid);
    });
    const latest = trackAcks(leader);
    const acks = watchAcks(leader, (n) => n >= 400);
    await leader.call('writeForever', { mission: 'm-share' });
    await acks;
    // Checkpoints cut the leader's log while it wrote.
    await untilLogCut(name, latest);
    const acknowledged = latest();
    const warned = await leader.call<string[]>('warnings');
    expect(warned.filter((w) => w.includes('export on this thread'))).toEqual([]);
    // Through what the leader broadcasts alone (no refresh()).
    let have = 0;
    await until(
      'the follower catching up',
      () => have >= acknowledged,
      async () => {
        have = (await follower.query<{ n: number }>("SELECT count(*) AS n FROM tool_calls WHERE tool_name LIKE 'ack-%'"))[0]!.n;
      },
    );
    const rows = await follower.query<{ id: number; tool_name: string }>(
      "SELECT id, tool_name FROM tool_calls WHERE tool_name LIKE 'ack-%'",
    );
    const names = new Set(rows.map((r) => r.tool_name));
    for (let n = 1; n <= acknowledged; n++) expect(names.has(`ack-${n}`), `ack-${n}`).toBe(true);
    // Without a reset, the change feed told of every row the follower holds.
    if (resets === 0) for (const row of rows) expect(seen.has(row.id), `row ${row.id}`).toBe(true);
    expect((await follower.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
  }, 120_000);

  it('chunks written ahead of a checkpoint that never commits are passed over by readers and deleted by the next commit', async () => {
    const name = uniqueName('staged');
    const database = `agent-ops-store:${name}`;
    // Three chunks; each version differs from the one before in its middle chunk only.
    const version = (fill: number) => {
      const bytes = new Uint8Array(2 * CHUNK_BYTES + (CHUNK_BYTES >> 2)).fill(1);
      bytes.fill(fill, CHUNK_BYTES + (CHUNK_BYTES >> 2), CHUNK_BYTES + (CHUNK_BYTES >> 1));
      return bytes;
    };
    const chunkKeys = async () => (await storedKeys(database)).filter((key) => Array.isArray(key) && key[0] === 'chunk');
    const first = indexedDbAdapter(name, { lock: 'fail' });
    await first.load();
    await first.checkpoint(version(2));
    const abandoned = await first.prepareCheckpoint!(version(3));
    // Written ahead: the middle chunk under its hash's key, beside the plain one.
    expect((await chunkKeys()).length).toBe(4);
    await abandoned.discard();
    await first.close();

    const second = indexedDbAdapter(name, { lock: 'fail' });
    const state = await second.load();
    expect(sameBytes(state.snapshot, version(2))).toBe(true);
    const next = await second.prepareCheckpoint!(version(4));
    await second.append(new Uint8Array([9]));
    await next.commit(1);
    expect(await chunkKeys()).toHaveLength(3);
    await second.close();

    const third = indexedDbAdapter(name, { lock: 'fail' });
    const last = await third.load();
    expect(sameBytes(last.snapshot, version(4))).toBe(true);
    expect(last.records.map((r) => Array.from(r))).toEqual([[9]]);
    // A checkpoint between the preparation and the commit deletes the chunks written ahead (no
    // manifest names them): the commit then writes its changed chunks itself.
    const overtaken = await third.prepareCheckpoint!(version(5));
    await third.checkpoint(version(6));
    await overtaken.commit(0);
    await third.close();
    const fourth = indexedDbAdapter(name, { lock: 'fail' });
    expect(sameBytes((await fourth.load()).snapshot, version(5))).toBe(true);
    expect(await chunkKeys()).toHaveLength(3);
    await fourth.close();
  });

  it('a snapshot sent as the chunks that differ from its base commits; one against a replaced base fails with IO and changes nothing', async () => {
    const name = uniqueName('sent-chunks');
    const version = (fill: number) => {
      const bytes = new Uint8Array(2 * CHUNK_BYTES + (CHUNK_BYTES >> 2)).fill(1);
      bytes.fill(fill, CHUNK_BYTES + (CHUNK_BYTES >> 2), CHUNK_BYTES + (CHUNK_BYTES >> 1));
      return bytes;
    };
    // As a replica sends them: every hash, and chunk 0 plus the chunks that differ from `base`.
    const sent = async (bytes: Uint8Array, base: Uint8Array): Promise<SnapshotChunks> => {
      const hashes = await hashChunks(bytes, CHUNK_BYTES);
      const before = await hashChunks(base, CHUNK_BYTES);
      const chunks = new Map<number, Uint8Array>();
      hashes.forEach((hash, i) => {
        if (i === 0 || !sameBytes(before[i] ?? null, hash)) chunks.set(i, chunkOf(bytes, i, CHUNK_BYTES));
      });
      return { length: bytes.length, hashes: { chunkBytes: CHUNK_BYTES, hashes }, chunks };
    };
    const adapter = indexedDbAdapter(name, { lock: 'fail' });
    await adapter.load();
    await adapter.checkpoint(version(2));
    expect(adapter.chunkBase!()?.hashes).toEqual(await hashChunks(version(2), CHUNK_BYTES));
    const three = await sent(version(3), version(2));
    expect([...three.chunks.keys()]).toEqual([0, 1]);
    const prepared = await adapter.prepareCheckpoint!(three);
    await prepared.commit(0);
    expect(adapter.chunkBase!()?.hashes).toEqual(await hashChunks(version(3), CHUNK_BYTES));
    // Sent against version 3, which another snapshot has replaced since: one whose last chunk
    // differs too, a chunk `four` does not carry.
    const four = await sent(version(4), version(3));
    const other = version(3).fill(7, 2 * CHUNK_BYTES);
    await adapter.checkpoint(other);
    const stale = await adapter.prepareCheckpoint!(four).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isStoreError(stale) && stale.code).toBe('IO');
    expect(String((stale as Error).message)).toContain(name);
    // Malformed chunks are refused before anything is written.
    const short = { ...four, chunks: new Map([[0, new Uint8Array(10)]]) };
    await expect(adapter.prepareCheckpoint!(short)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const headless = { ...four, chunks: new Map([[1, chunkOf(version(4), 1, CHUNK_BYTES)]]) };
    await expect(adapter.prepareCheckpoint!(headless)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await adapter.close();
    const reader = indexedDbAdapter(name, { lock: 'fail' });
    expect(sameBytes((await reader.load()).snapshot, other)).toBe(true);
    await reader.close();
  });

  it('the leading tab goes while its checkpoints keep records: the tab that takes over loses and doubles nothing', async () => {
    const name = uniqueName('replica-takeover');
    const leader = await openTab();
    const next = await openTab();
    const writer = await openTab();
    tabs.push(leader, next, writer);
    for (const t of [leader, next, writer]) await t.call('open', { name, checkpoint: FROM_REPLICA });
    await leader.call('createMission', { uuid: 'm-takeover' });
    const latest = trackAcks(writer);
    const before = watchAcks(writer, (n) => n >= 250);
    await writer.call('writeForever', { mission: 'm-takeover' });
    await before;
    // Checkpoints from the leader's replica cut its log while the writer's calls went through it.
    await untilLogCut(name, latest);
    const atRemoval = latest();
    // Gone with forwarded writes and perhaps a checkpoint in flight: the lock passes to `next`.
    leader.remove();
    tabs = tabs.filter((t) => t !== leader);
    const acknowledged = await watchAcks(writer, (n) => n >= atRemoval + 250);
    writer.remove();
    tabs = tabs.filter((t) => t !== writer);

    const rows = await next.call<{ tool_name: string }[]>('query', {
      sql: "SELECT tool_name FROM tool_calls WHERE tool_name LIKE 'ack-%'",
    });
    const have = rows.map((r) => r.tool_name);
    expect(new Set(have).size, 'no write applied twice').toBe(have.length);
    for (let n = 1; n <= acknowledged; n++) expect(have.includes(`ack-${n}`), `ack-${n}`).toBe(true);
    const warned = await next.call<string[]>('warnings');
    expect(warned.filter((w) => w.includes('export on this thread'))).toEqual([]);
    await next.call('close');
    const store = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }), onWarning: () => undefined });
    stores.push(store);
    // A write the removed tab forwarded just before it went may land after the query above: the
    // reopened store holds every row the new leader showed, maybe that one more, none twice.
    const reopened = (await store.query<{ tool_name: string }>("SELECT tool_name FROM tool_calls WHERE tool_name LIKE 'ack-%'")).map(
      (r) => r.tool_name,
    );
    expect(new Set(reopened).size, 'no write applied twice after the reopen').toBe(reopened.length);
    const kept = new Set(reopened);
    expect(
      have.filter((n) => !kept.has(n)),
      'rows the new leader showed and the reopen lost',
    ).toEqual([]);
    expect(reopened.length - have.length).toBeLessThanOrEqual(1);
  }, 120_000);
});
