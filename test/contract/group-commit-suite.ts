import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type PersistenceAdapter, type SQLiteStore, type StoreError } from '../../src/index.js';
import type { AdapterHarness, HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

const WRITERS = 16;

/** Starts `count` tool-call writes in one tick, as parallel tool calls or un-awaited writes do. */
function parallelCalls(store: SQLiteStore, mission: number, count: number, prefix = 'tool') {
  return Array.from({ length: count }, (_, i) =>
    store.toolCalls.record({ mission, toolName: `${prefix}-${i}`, args: { i }, success: true }),
  );
}

/** The number of commit records (change events) `store` makes while `work` runs. */
async function commitsDuring(store: SQLiteStore, work: () => Promise<unknown>): Promise<number> {
  let commits = 0;
  const off = store.subscribe(() => {
    commits++;
  });
  try {
    await work();
  } finally {
    off();
  }
  return commits;
}

/**
 * Group commit: repository writes queued back to back share one transaction, one commit record
 * and one flush, and each still resolves only once durable, or rejects on its own error.
 */
export function groupCommitSuite(name: string, factory: HarnessFactory): void {
  describe(`group commit: ${name}`, () => {
    const fixture = useStoreFixture(factory);

    it('parallel writes share commit records, resolve once durable, and all survive a crash', async () => {
      const store = await fixture.fresh();
      const m = await store.missions.create({ phase: 'CODING' });
      let calls: Awaited<ReturnType<SQLiteStore['toolCalls']['record']>>[] = [];
      const commits = await commitsDuring(store, async () => {
        calls = await Promise.all(parallelCalls(store, m.id, WRITERS));
      });
      expect(calls.map((c) => c.toolName)).toEqual(Array.from({ length: WRITERS }, (_, i) => `tool-${i}`));
      expect(new Set(calls.map((c) => c.id)).size).toBe(WRITERS);
      expect(commits).toBeLessThan(WRITERS);
      const reopened = await fixture.crashAndReopen();
      const rows = await reopened.query<{ tool_name: string }>('SELECT tool_name FROM tool_calls ORDER BY id');
      expect(rows.map((r) => r.tool_name)).toEqual(calls.map((c) => c.toolName));
    });

    it('a write that fails in a shared commit rejects alone; the others are durable', async () => {
      const store = await fixture.fresh();
      const m = await store.missions.create({ phase: 'CODING' });
      const writes = [
        store.toolCalls.record({ mission: m.id, toolName: 'before', args: {}, success: true }),
        store.toolCalls.record({ mission: 'no-such-mission', toolName: 'lost', args: {}, success: true }),
        store.memory.set(m.id, 'plan', { step: 1 }),
        store.toolCalls.record({ mission: m.id, toolName: 'after', args: {}, success: false, errorMessage: 'boom' }),
      ];
      const settled = await Promise.allSettled(writes);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((await rejection(writes[1]!)).code).toBe('NOT_FOUND');
      const reopened = await fixture.crashAndReopen();
      expect((await reopened.query('SELECT tool_name FROM tool_calls ORDER BY id')).map((r) => r.tool_name)).toEqual(['before', 'after']);
      expect(await reopened.memory.get(m.id, 'plan')).toEqual({ step: 1 });
    });

    it('a read queued between two writes sees the first and not the second', async () => {
      const store = await fixture.fresh();
      const m = await store.missions.create({ phase: 'CODING' });
      const first = store.toolCalls.record({ mission: m.id, toolName: 'first', args: {}, success: true });
      // A repository read queues at once (store.query first asks SQLite what the statement does).
      const read = store.toolCalls.list({ mission: m.id });
      const second = store.toolCalls.record({ mission: m.id, toolName: 'second', args: {}, success: true });
      await Promise.all([first, second]);
      expect((await read).map((c) => c.toolName)).toEqual(['first']);
    });

    it('a write refused inside a transaction callback never commits with the writes around it', async () => {
      const store = await fixture.fresh();
      const m = await store.missions.create({ phase: 'CODING' });
      let inner: Promise<StoreError> | undefined;
      const outer = parallelCalls(store, m.id, 3, 'outer');
      await store.transaction(async (tx) => {
        // A store call from inside the callback would wait for the callback: refused.
        inner = rejection(store.toolCalls.record({ mission: m.id, toolName: 'inside', args: {}, success: true }));
        await tx.toolCalls.record({ mission: m.id, toolName: 'tx', args: {}, success: true });
      });
      await Promise.all(outer);
      expect((await inner!).code).toBe('DEADLOCK');
      const reopened = await fixture.crashAndReopen();
      const names = (await reopened.query('SELECT tool_name FROM tool_calls ORDER BY id')).map((r) => r.tool_name);
      expect(names).toEqual(['outer-0', 'outer-1', 'outer-2', 'tx']);
    });
  });

  describe(`group commit, failing appends: ${name}`, () => {
    let harness: AdapterHarness | undefined;
    const stores: SQLiteStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close().catch(() => undefined);
      await harness?.destroy();
      harness = undefined;
    });

    it('when the shared append fails, every write of it rejects and memory keeps none of them', async () => {
      harness = await factory();
      const inner = harness.open();
      const disk = { failing: false };
      const adapter: PersistenceAdapter = {
        location: inner.location,
        load: () => inner.load(),
        append: (record) => (disk.failing ? Promise.reject(new Error('EIO: i/o error, write')) : inner.append(record)),
        checkpoint: (snapshot) => inner.checkpoint(snapshot),
        close: () => inner.close(),
      };
      const store = await openStore({ adapter, onWarning: () => undefined });
      stores.push(store);
      const m = await store.missions.create({ phase: 'CODING' });
      const before = await dump(store);
      disk.failing = true;
      const settled = await Promise.allSettled(parallelCalls(store, m.id, WRITERS));
      expect(settled.every((s) => s.status === 'rejected' && (s.reason as { code?: string }).code === 'IO')).toBe(true);
      expect(await dump(store)).toEqual(before);
      disk.failing = false;
      await Promise.all(parallelCalls(store, m.id, 2, 'later'));
      expect((await store.query('SELECT tool_name FROM tool_calls ORDER BY id')).map((r) => r.tool_name)).toEqual(['later-0', 'later-1']);
    });
  });
}
