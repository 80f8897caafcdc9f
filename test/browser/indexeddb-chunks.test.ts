import { afterEach, describe, expect, it, vi } from 'vitest';
import { indexedDbAdapter } from '../../adapters/indexeddb.js';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { CHUNK_BYTES, chunkCount, chunkOf, decodeManifest, encodeManifest, hashChunks } from '../../adapters/snapshot-chunks.js';
import { type CheckpointPolicy, isStoreError, openStore, type SQLiteStore } from '../../src/index.js';
import { deleteDatabase } from './indexeddb-harness.js';
import { openTab, storedKeys, type Tab } from './tab.js';

// The snapshot in chunks: the layout written before chunks still opens, a checkpoint writes only
// the chunks that changed, stores past Chromium's ~128 MB value limit checkpoint, and a tab
// closed during a checkpoint loses nothing acknowledged.

let tabs: Tab[] = [];
let stores: SQLiteStore[] = [];
let names: string[] = [];
const uniqueName = (what: string) => {
  const name = `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  names.push(name);
  return name;
};
const openOn = async (name: string, checkpoint?: CheckpointPolicy) => {
  const store = await openStore({
    adapter: indexedDbAdapter(name, { lock: 'wait', lockTimeoutMs: 10_000 }),
    onWarning: () => undefined,
    ...(checkpoint && { checkpoint }),
  });
  stores.push(store);
  return store;
};
const open = (name: string) => openOn(name);
const tab = async () => {
  const t = await openTab();
  tabs.push(t);
  return t;
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isChunkKey = (key: unknown) => Array.isArray(key) && key[0] === 'chunk';

afterEach(async () => {
  vi.restoreAllMocks();
  for (const t of tabs) t.remove();
  for (const s of stores) if (!s.closed) await s.close().catch(() => undefined);
  for (const name of names) await deleteDatabase(`agent-ops-store:${name}`);
  tabs = [];
  stores = [];
  names = [];
});

/** What the blobs table holds: rows, bytes, and the tags in order. */
async function blobs(store: SQLiteStore): Promise<{ rows: number; bytes: number; tags: string[] }> {
  const rows = await store.query<{ tag: string; n: number }>('SELECT tag, length(b) AS n FROM blobs ORDER BY id');
  return { rows: rows.length, bytes: rows.reduce((sum, row) => sum + row.n, 0), tags: rows.map((row) => row.tag) };
}

/** `bytes` bytes: random ones first (no two rows alike), zeros, and the tag padded to 16 at the end. */
function blobOf(tag: string, bytes: number): Uint8Array {
  const blob = new Uint8Array(bytes);
  crypto.getRandomValues(blob.subarray(0, 16));
  blob.set(new TextEncoder().encode(tag.padEnd(16, '.').slice(0, 16)), bytes - 16);
  return blob;
}

/** Adds `count` rows of `bytes` bytes each, tagged `prefix-i`. */
async function addBlobs(store: SQLiteStore, prefix: string, count: number, bytes: number): Promise<void> {
  for (let i = 0; i < count; i++)
    await store.run('INSERT INTO blobs (tag, b) VALUES (?, ?)', [`${prefix}-${i}`, blobOf(`${prefix}-${i}`, bytes)]);
}

/** Writes the layout this adapter wrote before chunks: the whole snapshot under 'snapshot', records under 1..n, the epoch. */
function writeLegacyLayout(database: string, snapshot: Uint8Array, records: readonly Uint8Array[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(database, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('aos');
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction('aos', 'readwrite');
      const store = tx.objectStore('aos');
      store.put(snapshot, 'snapshot');
      records.forEach((record, i) => {
        store.put(record, i + 1);
      });
      const epoch = new Uint8Array(8);
      new DataView(epoch.buffer).setFloat64(0, 3);
      store.put(epoch, 'epoch');
      store.put(new Uint8Array(0), 'epoch-over:2');
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

/** Writes a chunked layout as an adapter with chunks of `chunkBytes` wrote it: manifest, chunks, records, the epoch. */
async function writeChunkedLayout(
  database: string,
  snapshot: Uint8Array,
  records: readonly Uint8Array[],
  chunkBytes: number,
): Promise<void> {
  const manifest = encodeManifest({ length: snapshot.length, chunkBytes, hashes: await hashChunks(snapshot, chunkBytes) });
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(database, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('aos');
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction('aos', 'readwrite');
      const store = tx.objectStore('aos');
      for (let i = 0; i < chunkCount(snapshot.length, chunkBytes); i++) store.put(chunkOf(snapshot, i, chunkBytes), ['chunk', i]);
      store.put(manifest, 'manifest');
      records.forEach((record, i) => {
        store.put(record, i + 1);
      });
      const epoch = new Uint8Array(8);
      new DataView(epoch.buffer).setFloat64(0, 3);
      store.put(epoch, 'epoch');
      store.put(new Uint8Array(0), 'epoch-over:2');
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

/** The value under `key` in an adapter's database, read behind its back. */
function readKey(database: string, key: IDBValidKey): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(database);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const get = db.transaction('aos', 'readonly').objectStore('aos').get(key);
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
      get.onerror = () => reject(get.error);
    };
  });
}

/** Deletes one key of an adapter's database behind its back. */
function deleteKey(database: string, key: IDBValidKey): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(database);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction('aos', 'readwrite');
      tx.objectStore('aos').delete(key);
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

describe('indexeddb snapshot chunks', () => {
  it('opens a store in the layout written before chunks, and switches it to chunks at the next checkpoint', async () => {
    // The same bytes the adapter stored before chunks: a snapshot, and the log records after it.
    const volume = new MemoryVolume();
    const old = await openStore({ adapter: memoryAdapter(volume), onWarning: () => undefined });
    await old.missions.create({ phase: 'PLANNING', uuid: 'm-legacy' });
    for (let i = 0; i < 20; i++) await old.toolCalls.record({ mission: 'm-legacy', toolName: `before-${i}`, args: { i }, success: true });
    await old.checkpoint();
    for (let i = 0; i < 5; i++) await old.toolCalls.record({ mission: 'm-legacy', toolName: `after-${i}`, args: { i }, success: true });
    expect(volume.records.length).toBe(5);
    const name = uniqueName('legacy');
    await writeLegacyLayout(`agent-ops-store:${name}`, volume.snapshot!, volume.records);

    const store = await open(name);
    expect((await store.query('SELECT count(*) AS n FROM tool_calls'))[0]).toEqual({ n: 25 });
    expect(await storedKeys(`agent-ops-store:${name}`)).toContain('snapshot');
    await store.toolCalls.record({ mission: 'm-legacy', toolName: 'new', args: {}, success: true });
    await store.checkpoint();
    const keys = await storedKeys(`agent-ops-store:${name}`);
    expect(keys).not.toContain('snapshot');
    expect(keys).toContain('manifest');
    expect(keys.filter(isChunkKey).length).toBeGreaterThan(0);
    expect(keys.filter((key) => typeof key === 'number')).toEqual([]);
    await store.close();

    const again = await open(name);
    expect((await again.query('SELECT count(*) AS n FROM tool_calls'))[0]).toEqual({ n: 26 });
    // Foreign keys still hold on the chunked snapshot: the cascade removes the calls.
    await again.missions.delete('m-legacy');
    expect((await again.query('SELECT count(*) AS n FROM tool_calls'))[0]).toEqual({ n: 0 });
  });

  it("opens a store written with 4 MiB chunks, and rewrites it in chunks of today's size at the next checkpoint", async () => {
    const oldChunk = 4 << 20;
    expect(CHUNK_BYTES).not.toBe(oldChunk);
    // A snapshot of a little over two old chunks, and three records after it.
    const volume = new MemoryVolume();
    const old = await openStore({ adapter: memoryAdapter(volume), onWarning: () => undefined });
    await old.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, tag TEXT, b BLOB)');
    await addBlobs(old, 'four', 9, 1 << 20);
    await old.checkpoint();
    await addBlobs(old, 'log', 3, 1000);
    expect(volume.snapshot!.length).toBeGreaterThan(2 * oldChunk);
    const name = uniqueName('four-mib');
    const database = `agent-ops-store:${name}`;
    await writeChunkedLayout(database, volume.snapshot!, volume.records, oldChunk);

    const store = await open(name);
    expect(await blobs(store)).toMatchObject({ rows: 12 });
    await addBlobs(store, 'new', 1, 1000);
    await store.checkpoint();
    const manifest = decodeManifest((await readKey(database, 'manifest')) as Uint8Array, database);
    expect(manifest.chunkBytes).toBe(CHUNK_BYTES);
    const keys = await storedKeys(database);
    // Every chunk is one of today's, under its plain key; none of the old ones is left past the end.
    expect(keys.filter(isChunkKey)).toEqual(Array.from({ length: chunkCount(manifest.length, CHUNK_BYTES) }, (_, i) => ['chunk', i]));
    expect(keys.filter((key) => typeof key === 'number')).toEqual([]);
    await store.close();

    const again = await open(name);
    const seen = await blobs(again);
    expect(seen.rows).toBe(13);
    expect(seen.tags.slice(-4)).toEqual(['log-0', 'log-1', 'log-2', 'new-0']);
    expect((await again.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
  });

  it('refuses a snapshot whose manifest lists a chunk that is missing with CORRUPT, naming the database', async () => {
    const name = uniqueName('torn');
    const store = await open(name);
    await store.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, tag TEXT, b BLOB)');
    await addBlobs(store, 'x', 3, 3 << 20);
    await store.close();
    await deleteKey(`agent-ops-store:${name}`, ['chunk', 1]);
    const error = await openStore({ adapter: indexedDbAdapter(name, { lock: 'wait' }), onWarning: () => undefined }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStoreError(error, 'CORRUPT'), String(error)).toBe(true);
    expect((error as Error).message).toContain(`agent-ops-store:${name}`);
    expect((error as Error).message).toContain('chunk 1');
  });

  it('a checkpoint writes only the chunks that changed, also on the first checkpoint after a reopen', async () => {
    const name = uniqueName('delta');
    // Checkpoints on the page, where the puts can be counted (from the replica, its worker writes
    // the changed chunks: indexeddb-replica.test.ts counts those).
    const onPage = { workerMinBytes: Number.POSITIVE_INFINITY };
    const open = (n: string) => openOn(n, onPage);
    const store = await open(name);
    await store.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, tag TEXT, b BLOB)');
    await addBlobs(store, 'base', 24, 1 << 20);
    await store.checkpoint();
    const total = (await storedKeys(`agent-ops-store:${name}`)).filter(isChunkKey).length;
    expect(total).toBeGreaterThanOrEqual(6);

    const put = vi.spyOn(IDBObjectStore.prototype, 'put');
    const chunkPuts = () => put.mock.calls.filter(([, key]) => isChunkKey(key)).length;
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-small' });
    await store.checkpoint();
    // The page that changed and the header (generation, commit number), both near the start.
    expect(chunkPuts()).toBeGreaterThanOrEqual(1);
    expect(chunkPuts()).toBeLessThanOrEqual(2);
    await store.close();

    put.mockClear();
    const again = await open(name);
    await again.missions.create({ phase: 'PLANNING', uuid: 'm-after-reopen' });
    await again.checkpoint();
    expect(chunkPuts()).toBeLessThanOrEqual(2);
    // Growing the table by 5 MiB writes the chunks at the end, not the ones before them.
    put.mockClear();
    await addBlobs(again, 'more', 5, 1 << 20);
    await again.checkpoint();
    expect(chunkPuts()).toBeLessThan(total);
    expect(chunkPuts()).toBeGreaterThanOrEqual(2);
    await again.close();

    const third = await open(name);
    const seen = await blobs(third);
    expect(seen.rows).toBe(29);
    expect(seen.bytes).toBe(29 << 20);
    expect((await third.missions.list()).map((m) => m.uuid).sort()).toEqual(['m-after-reopen', 'm-small']);
  });

  it('checkpoints, closes and reopens a store of more than 150 MB (one IndexedDB value of that size fails in Chromium)', async () => {
    const name = uniqueName('big');
    const store = await open(name);
    await store.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, tag TEXT, b BLOB)');
    await addBlobs(store, 'big', 20, 8 << 20);
    await store.checkpoint();
    const [size] = await store.query<{ n: number }>('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()');
    expect(size!.n).toBeGreaterThan(160 * 2 ** 20);
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-big' });
    await store.close();
    const keys = await storedKeys(`agent-ops-store:${name}`);
    expect(keys.filter((key) => typeof key === 'number')).toEqual([]);
    expect(keys.filter(isChunkKey).length).toBe(Math.ceil(size!.n / CHUNK_BYTES));

    const again = await open(name);
    const seen = await blobs(again);
    expect(seen.rows).toBe(20);
    expect(seen.bytes).toBe(20 * (8 << 20));
    expect(seen.tags).toEqual(Array.from({ length: 20 }, (_, i) => `big-${i}`));
    const ends = await again.query<{ tag: string; end: string }>('SELECT tag, CAST(substr(b, -16) AS TEXT) AS end FROM blobs ORDER BY id');
    for (const row of ends) expect(row.end).toBe(row.tag.padEnd(16, '.').slice(0, 16));
    expect((await again.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
    expect(await again.missions.get('m-big')).toMatchObject({ uuid: 'm-big' });
  });

  it('a tab closed during a checkpoint loses nothing acknowledged; the next open reads one layout or the other whole', async () => {
    const name = uniqueName('mid-checkpoint');
    let writer = await tab();
    await writer.call('open', { name });
    await writer.call('query', { sql: 'CREATE TABLE blobs (id INTEGER PRIMARY KEY, tag TEXT, b BLOB)' });
    const rowsPerRound = 5;
    // From a checkpoint cut at once to one cut late in its transaction (24 MiB more each round).
    const delays = [0, 15, 60, 150, 400];
    for (const [round, delay] of delays.entries()) {
      for (let i = 0; i < rowsPerRound; i++) {
        const tag = `r${round}-${i}`;
        await writer.call('query', { sql: 'INSERT INTO blobs (tag, b) VALUES (?, ?)', params: [tag, blobOf(tag, 5 << 20)] });
      }
      await writer.call('createMission', { uuid: `m-${round}` });
      // Not awaited: the tab goes away while it runs.
      void writer.call('call', { target: 'store', method: 'checkpoint', args: [] }).catch(() => undefined);
      await sleep(delay);
      writer.remove();
      tabs = tabs.filter((t) => t !== writer);

      const store = await open(name);
      const seen = await blobs(store);
      expect(seen.rows, `round ${round}`).toBe(rowsPerRound * (round + 1));
      expect(seen.bytes).toBe(rowsPerRound * (round + 1) * (5 << 20));
      const missions = (await store.missions.list()).map((m) => m.uuid).sort();
      expect(missions).toEqual(delays.slice(0, round + 1).map((_, r) => `m-${r}`));
      expect((await store.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
      await store.close();
      stores = stores.filter((s) => s !== store);

      writer = await tab();
      await writer.call('open', { name });
    }
  });
});
