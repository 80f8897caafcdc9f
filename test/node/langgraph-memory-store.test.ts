import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type SQLiteStore, StoreError } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { AgentOpsMemoryStore } from 'agent-ops-store/integrations/langgraph';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The BaseStore contract as LangGraph documents it: items by (namespace, key), search under a
// namespace prefix with a filter and paging, listNamespaces, and TTL expiry by the store's clock.
describe('AgentOpsMemoryStore (LangGraph BaseStore)', () => {
  let now: Date;
  let store: SQLiteStore;
  const minutes = (n: number) => new Date(now.getTime() + n * 60_000);

  beforeEach(async () => {
    now = new Date('2026-11-28T12:00:00.000Z');
    store = await openStore({ adapter: memoryAdapter(), clock: () => now });
  });
  afterEach(async () => {
    await store.close();
  });

  it('puts, gets, updates and deletes items by namespace and key, namespaces kept apart', async () => {
    const memory = new AgentOpsMemoryStore(store);
    await memory.put(['users', 'u1'], 'prefs', { theme: 'dark' });
    await memory.put(['users', 'u2'], 'prefs', { theme: 'light' });
    expect(await memory.get(['users', 'u1'], 'prefs')).toEqual({
      namespace: ['users', 'u1'],
      key: 'prefs',
      value: { theme: 'dark' },
      createdAt: now,
      updatedAt: now,
    });
    expect(await memory.get(['users'], 'prefs')).toBeNull();
    expect(await memory.get(['users', 'u3'], 'prefs')).toBeNull();

    const created = now;
    now = minutes(5);
    await memory.put(['users', 'u1'], 'prefs', { theme: 'solarized' });
    expect(await memory.get(['users', 'u1'], 'prefs')).toMatchObject({ value: { theme: 'solarized' }, createdAt: created, updatedAt: now });

    await memory.delete(['users', 'u1'], 'prefs');
    expect(await memory.get(['users', 'u1'], 'prefs')).toBeNull();
    expect((await memory.get(['users', 'u2'], 'prefs'))?.value).toEqual({ theme: 'light' });
  });

  it('searches under a namespace prefix (whole labels only), with a filter, limit and offset', async () => {
    const memory = new AgentOpsMemoryStore(store);
    await memory.put(['docs', 'a'], '1', { kind: 'note', rank: 1, tags: ['x'] });
    await memory.put(['docs', 'a'], '2', { kind: 'todo', rank: 2 });
    await memory.put(['docs', 'b', 'deep'], '3', { kind: 'note', rank: 3 });
    await memory.put(['docsX'], '4', { kind: 'note', rank: 4 });
    await memory.put(['other'], '5', { kind: 'note', rank: 5 });
    const keys = (items: { key: string }[]) => items.map((i) => i.key);

    expect(keys(await memory.search(['docs']))).toEqual(['1', '2', '3']);
    expect(keys(await memory.search(['docs', 'a']))).toEqual(['1', '2']);
    expect(keys(await memory.search([]))).toEqual(['1', '2', '3', '4', '5']);
    expect(keys(await memory.search(['docs'], { filter: { kind: 'note' } }))).toEqual(['1', '3']);
    expect(keys(await memory.search([], { filter: { rank: { $gte: 2, $lt: 5 } } }))).toEqual(['2', '3', '4']);
    expect(keys(await memory.search([], { filter: { kind: { $in: ['todo'] } } }))).toEqual(['2']);
    expect(keys(await memory.search([], { filter: { kind: { $ne: 'note' } } }))).toEqual(['2']);
    expect(keys(await memory.search([], { filter: { tags: ['x'] } }))).toEqual(['1']);
    expect(keys(await memory.search([], { limit: 2, offset: 1 }))).toEqual(['2', '3']);
    expect(keys(await memory.search([], { filter: { kind: 'note' }, limit: 2, offset: 1 }))).toEqual(['3', '4']);
    expect((await memory.search(['docs', 'a'], { limit: 1 }))[0]).toMatchObject({
      namespace: ['docs', 'a'],
      key: '1',
      value: { kind: 'note' },
    });
  });

  it('lists namespaces by prefix, suffix (with * wildcards), depth and page', async () => {
    const memory = new AgentOpsMemoryStore(store);
    for (const ns of [
      ['a', 'b', 'c'],
      ['a', 'b', 'd'],
      ['a', 'e'],
      ['f', 'b', 'c'],
    ])
      await memory.put(ns, 'k', { v: 1 });
    expect(await memory.listNamespaces()).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'd'],
      ['a', 'e'],
      ['f', 'b', 'c'],
    ]);
    expect(await memory.listNamespaces({ prefix: ['a', 'b'] })).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'd'],
    ]);
    expect(await memory.listNamespaces({ suffix: ['b', 'c'] })).toEqual([
      ['a', 'b', 'c'],
      ['f', 'b', 'c'],
    ]);
    expect(await memory.listNamespaces({ prefix: ['*', 'b'] })).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'd'],
      ['f', 'b', 'c'],
    ]);
    expect(await memory.listNamespaces({ maxDepth: 2 })).toEqual([
      ['a', 'b'],
      ['a', 'e'],
      ['f', 'b'],
    ]);
    expect(await memory.listNamespaces({ limit: 2, offset: 1 })).toEqual([
      ['a', 'b', 'd'],
      ['a', 'e'],
    ]);
  });

  it('expires items after defaultTtl minutes by the store clock, a read starting the time again', async () => {
    const memory = new AgentOpsMemoryStore(store, { defaultTtl: 10 });
    await memory.put(['s'], 'kept', { v: 1 });
    await memory.put(['s'], 'idle', { v: 2 });
    await memory.put(['t'], 'idle', { v: 3 });
    now = minutes(9);
    expect((await memory.get(['s'], 'kept'))?.value).toEqual({ v: 1 });
    now = minutes(9);
    // 18 minutes after the puts: the untouched ones are gone everywhere, the one read at 9 lives until 19.
    expect(await memory.get(['s'], 'idle')).toBeNull();
    expect((await memory.search(['s'])).map((i) => i.key)).toEqual(['kept']);
    expect(await memory.listNamespaces()).toEqual([['s']]);
    expect(await memory.sweepExpired()).toBe(2);
    now = minutes(11);
    expect(await memory.get(['s'], 'kept')).toBeNull();
    // Put again after expiry: a new item.
    await memory.put(['s'], 'kept', { v: 4 });
    expect(await memory.get(['s'], 'kept')).toMatchObject({ value: { v: 4 }, createdAt: now });
  });

  it('with refreshOnRead false, reads do not extend an item, and items without TTL never expire', async () => {
    const memory = new AgentOpsMemoryStore(store, { defaultTtl: 1, refreshOnRead: false });
    const forever = new AgentOpsMemoryStore(store);
    await memory.put(['s'], 'k', { v: 1 });
    await forever.put(['s'], 'f', { v: 2 });
    now = minutes(0.5);
    expect(await memory.get(['s'], 'k')).not.toBeNull();
    now = minutes(0.6);
    expect(await memory.get(['s'], 'k')).toBeNull();
    now = new Date('9999-01-01T00:00:00.000Z');
    expect((await forever.get(['s'], 'f'))?.value).toEqual({ v: 2 });
  });

  it('runs a batch in order in one transaction, and refuses bad input with INVALID_INPUT, changing nothing', async () => {
    const memory = new AgentOpsMemoryStore(store);
    const [, got, , gone] = await memory.batch([
      { namespace: ['b'], key: 'k', value: { v: 1 } },
      { namespace: ['b'], key: 'k' },
      { namespace: ['b'], key: 'k', value: null },
      { namespace: ['b'], key: 'k' },
    ]);
    expect(got?.value).toEqual({ v: 1 });
    expect(gone).toBeNull();

    const bad = await memory
      .batch([
        { namespace: ['b'], key: 'ok', value: { v: 1 } },
        { namespace: ['b'], key: 'k', value: [1] as unknown as Record<string, unknown> },
      ])
      .catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(StoreError);
    expect((bad as StoreError).code).toBe('INVALID_INPUT');
    expect(await memory.get(['b'], 'ok')).toBeNull();
    expect(() => new AgentOpsMemoryStore(store, { defaultTtl: -1 })).toThrow(StoreError);
  });

  it('keeps its items in the file: a store reopened on the same path finds them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aos-langgraph-store-'));
    try {
      const path = join(dir, 'memory.db');
      const first = await openStore({ adapter: fsAdapter(path) });
      await new AgentOpsMemoryStore(first).put(['users', 'u1'], 'prefs', { theme: 'dark' });
      await first.close();
      const again = await openStore({ adapter: fsAdapter(path) });
      expect((await new AgentOpsMemoryStore(again).get(['users', 'u1'], 'prefs'))?.value).toEqual({ theme: 'dark' });
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
