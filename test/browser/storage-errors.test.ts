import { afterEach, describe, expect, it } from 'vitest';
import { indexedDbAdapter } from '../../adapters/indexeddb.js';
import { openStore, type SQLiteStore, StoreError } from '../../src/index.js';
import { deleteDatabase } from './indexeddb-harness.js';

const realPut = IDBObjectStore.prototype.put;
let names: string[] = [];
let stores: SQLiteStore[] = [];

const open = async () => {
  const name = `errors-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  names.push(name);
  const store = await openStore({ adapter: indexedDbAdapter(name), onWarning: () => undefined });
  stores.push(store);
  return { name, store };
};
const toolNames = async (store: SQLiteStore) =>
  ((await store.query('SELECT tool_name FROM tool_calls ORDER BY id')) as { tool_name: string }[]).map((r) => r.tool_name);
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

afterEach(async () => {
  IDBObjectStore.prototype.put = realPut;
  for (const s of stores) if (!s.closed) await s.close().catch(() => undefined);
  for (const name of names) await deleteDatabase(`agent-ops-store:${name}`);
  names = [];
  stores = [];
});

describe('indexeddb storage errors', () => {
  it('quota exceeded: the write rejects with IO, memory matches what is durable, reads and later writes work', async () => {
    const { name, store } = await open();
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-quota' });
    await store.toolCalls.record({ mission: 'm-quota', toolName: 'before', args: {}, success: true });

    IDBObjectStore.prototype.put = function quotaExceeded() {
      throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
    };
    const error = await rejection(store.toolCalls.record({ mission: 'm-quota', toolName: 'lost', args: {}, success: true }));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('IO');
    expect((error as StoreError).message).toContain(`agent-ops-store:${name}`);
    expect(((error as StoreError).cause as DOMException).name).toBe('QuotaExceededError');

    // Reads still work while storage is full, and show only what is durable.
    expect(await toolNames(store)).toEqual(['before']);
    expect((await store.missions.get('m-quota'))?.uuid).toBe('m-quota');

    IDBObjectStore.prototype.put = realPut;
    await store.toolCalls.record({ mission: 'm-quota', toolName: 'after', args: {}, success: true });
    await store.close();
    const { store: reopened } = await reopen(name);
    expect(await toolNames(reopened)).toEqual(['before', 'after']);
  });

  it('a transaction the browser aborts: IO, and nothing of it shows', async () => {
    const { name, store } = await open();
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-abort' });
    IDBObjectStore.prototype.put = function abortAfterPut(this: IDBObjectStore, ...args: [unknown, IDBValidKey?]) {
      const request = realPut.apply(this, args);
      this.transaction.abort();
      return request;
    };
    const error = await rejection(
      store.transaction(async (tx) => {
        await tx.toolCalls.record({ mission: 'm-abort', toolName: 'one', args: {}, success: true });
        await tx.memory.set('m-abort', 'k', 1);
      }),
    );
    expect((error as StoreError).code).toBe('IO');
    IDBObjectStore.prototype.put = realPut;
    expect(await toolNames(store)).toEqual([]);
    expect(await store.memory.get('m-abort', 'k')).toBeUndefined();
    await store.close();
    const { store: reopened } = await reopen(name);
    expect(await toolNames(reopened)).toEqual([]);
    expect((await reopened.missions.get('m-abort'))?.uuid).toBe('m-abort');
  });

  it('a failed checkpoint is IO and loses nothing: the log still holds every write', async () => {
    const { name, store } = await open();
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-cp' });
    await store.toolCalls.record({ mission: 'm-cp', toolName: 'kept', args: {}, success: true });
    IDBObjectStore.prototype.put = function quotaExceeded() {
      throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
    };
    expect(await rejection(store.checkpoint())).toMatchObject({ code: 'IO' });
    expect(await toolNames(store)).toEqual(['kept']);
    IDBObjectStore.prototype.put = realPut;
    await store.close();
    const { store: reopened } = await reopen(name);
    expect(await toolNames(reopened)).toEqual(['kept']);
  });

  it('IndexedDB unavailable (a private window, say): opening is IO naming the database', async () => {
    const own = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');
    Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true, writable: true });
    try {
      const error = await rejection(openStore({ adapter: indexedDbAdapter('no-idb-here') }));
      expect(error).toMatchObject({ code: 'IO' });
      expect((error as Error).message).toContain('agent-ops-store:no-idb-here');
    } finally {
      if (own) Object.defineProperty(globalThis, 'indexedDB', own);
      else delete (globalThis as { indexedDB?: unknown }).indexedDB;
    }
    expect(typeof indexedDB.open).toBe('function');
    // The failed open released its lock: the name can be opened once storage is back.
    names.push('no-idb-here');
    const store = await openStore({ adapter: indexedDbAdapter('no-idb-here') });
    stores.push(store);
  });
});

async function reopen(name: string) {
  const store = await openStore({ adapter: indexedDbAdapter(name) });
  stores.push(store);
  return { name, store };
}
