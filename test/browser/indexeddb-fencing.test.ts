import { afterEach, describe, expect, it } from 'vitest';
import { indexedDbAdapter } from '../../adapters/indexeddb.js';
import type { PersistenceAdapter } from '../../src/index.js';
import { deleteDatabase } from './indexeddb-harness.js';

// The epoch (fencing token) of the IndexedDB adapter, at the adapter level: a holder that was
// deposed, whether or not it has noticed that its Web Lock was taken, writes nothing.
const opened: PersistenceAdapter[] = [];
const names: string[] = [];
const fresh = (): string => {
  const name = `fence-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  names.push(name);
  return name;
};
const open = (name: string, options: Parameters<typeof indexedDbAdapter>[1] = {}): PersistenceAdapter => {
  const adapter = indexedDbAdapter(name, options);
  opened.push(adapter);
  return adapter;
};

afterEach(async () => {
  await Promise.all(opened.splice(0).map((adapter) => adapter.close()));
  for (const name of names.splice(0)) await deleteDatabase(`agent-ops-store:${name}`);
});

/** Every key and value of the adapter's database, values as plain arrays, for before/after comparisons. */
function contents(database: string): Promise<[IDBValidKey, number[]][]> {
  return withStore(database, 'readonly', (store, done) => {
    const keys = store.getAllKeys();
    const values = store.getAll();
    values.onsuccess = () => done(keys.result.map((key, i) => [key, [...(values.result[i] as Uint8Array)]]));
  });
}

/** Raises the stored epoch by one and marks the one it replaced over, as a tab that takes over does before it reads. */
function raiseEpoch(database: string): Promise<void> {
  return withStore(database, 'readwrite', (store, done) => {
    const read = store.get('epoch');
    read.onsuccess = () => {
      const bytes = read.result as Uint8Array;
      const current = new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0);
      const next = new Uint8Array(8);
      new DataView(next.buffer).setFloat64(0, current + 1);
      store.put(next, 'epoch');
      store.put(new Uint8Array(0), `epoch-over:${current}`);
      done(undefined);
    };
  });
}

function withStore<T>(
  database: string,
  mode: IDBTransactionMode,
  body: (store: IDBObjectStore, done: (value: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(database);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction('aos', mode);
      let value: T;
      body(tx.objectStore('aos'), (v) => {
        value = v;
      });
      tx.oncomplete = () => {
        db.close();
        resolve(value);
      };
      tx.onabort = () => reject(tx.error);
    };
  });
}

const record = (n: number) => new Uint8Array([n, n, n]);

describe('indexeddb fencing: the epoch', () => {
  it('an append or checkpoint of a holder deposed without knowing it aborts with LOCKED and leaves IndexedDB unchanged', async () => {
    const name = fresh();
    const database = `agent-ops-store:${name}`;
    const holder = open(name, { lock: 'fail' });
    await holder.load();
    await holder.append(record(1));
    // Another holder raised the epoch (its load): this one still holds its Web Lock and has heard nothing.
    await raiseEpoch(database);
    const before = await contents(database);
    const append = await holder.append(record(2)).then(
      () => null,
      (error: { code?: string; message?: string }) => error,
    );
    expect(append?.code).toBe('LOCKED');
    expect(append?.message).toMatch(/taken by another tab/);
    expect(await contents(database)).toEqual(before);
    const checkpoint = await holder.checkpoint(record(9)).then(
      () => null,
      (error: { code?: string }) => error,
    );
    expect(checkpoint?.code).toBe('LOCKED');
    expect(await contents(database)).toEqual(before);
  });

  it('a follower whose calls a silent leader leaves unanswered takes the lock (steal), reads what the leader made durable, and fences it', async () => {
    const name = fresh();
    const database = `agent-ops-store:${name}`;
    const leader = open(name);
    const leaderShare = leader.share?.();
    expect(await leaderShare?.tryLead()).toBe(true);
    await leader.load();
    await leader.append(record(1));
    // The leader never serves: to the follower it is as silent as a frozen tab.
    const follower = open(name, { leaderTimeoutMs: 200 });
    const share = follower.share?.();
    share!.listen({ record() {}, checkpoint() {}, leader() {} });
    const leading = share!.lead();
    const call = share!.forward({ id: 'c1' });
    const started = performance.now();
    await leading;
    expect(performance.now() - started).toBeLessThan(2000);
    const loaded = await follower.load();
    expect(loaded.records.map((r) => [...r])).toEqual([[1, 1, 1]]);
    const before = await contents(database);
    expect((await leader.append(record(2)).catch((error: { code?: string }) => error))?.code).toBe('LOCKED');
    expect(await contents(database)).toEqual(before);
    await follower.append(record(3));
    expect((await follower.load()).records.map((r) => [...r])).toEqual([
      [1, 1, 1],
      [3, 3, 3],
    ]);
    void call.catch(() => undefined);
  });

  it('leaderTimeoutMs must be a positive number', () => {
    expect(() => indexedDbAdapter('x', { leaderTimeoutMs: 0 })).toThrow(/leaderTimeoutMs/);
    expect(() => indexedDbAdapter('x', { leaderTimeoutMs: Number.NaN })).toThrow(/leaderTimeoutMs/);
  });
});
