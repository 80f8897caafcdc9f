import { describe, expect, it } from 'vitest';
import { type ChangeEvent, openStore, type PersistenceAdapter, type SQLiteStore } from '../../src/index.js';
import type { HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

/** The adapter with a reader that hears of no change on its own: it catches up only on refresh(). */
function refreshOnly(adapter: PersistenceAdapter): PersistenceAdapter {
  const openReader = adapter.openReader?.bind(adapter);
  if (!openReader) return adapter;
  return Object.assign(Object.create(adapter) as PersistenceAdapter, {
    openReader: () => {
      const tail = openReader();
      return { load: () => tail.load(), poll: () => tail.poll(), watch: () => () => undefined, close: () => tail.close() };
    },
  });
}

/** Collects a store's change feed events. */
function record(store: SQLiteStore): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  store.subscribe((event) => {
    events.push(event);
  });
  return events;
}

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 2000): Promise<void> {
  const until = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const count = async (store: SQLiteStore, table = 'tool_calls') =>
  Number(((await store.query(`SELECT count(*) AS n FROM ${table}`)) as [{ n: number }])[0].n);

/**
 * Readers (`openStore({ adapter, readOnly: true })`) and the change feed, on every adapter. An
 * adapter that cannot open readers (no `openReader`: IndexedDB, whose tabs share a store instead)
 * runs the feed tests and, in place of the reader tests, one that shows readOnly is refused.
 */
export function readerSuite(name: string, factory: HarnessFactory, capabilities: { readonly readers: boolean } = { readers: true }): void {
  describe(`readers and the change feed: ${name}`, () => {
    const fx = useStoreFixture(factory);
    // Reader tests are registered only where the adapter can open readers.
    const itReader = (title: string, test: () => Promise<void>) => {
      if (capabilities.readers) it(title, test);
    };
    const reader = (adapter?: PersistenceAdapter) =>
      fx.open({ readOnly: true, ...(adapter ? ({ adapter } as Record<string, unknown>) : {}) });

    it('the feed gives one event per commit, in order, with each row op and cascaded deletes', async () => {
      const store = await fx.fresh();
      const events = record(store);
      const m = await store.missions.create({ phase: 'PLANNING', uuid: 'm' });
      const call = await store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true });
      await store.missions.setPhase(m.id, 'CODING');
      await store.transaction(async (tx) => {
        // Inserted and deleted again: no net change to report.
        const gone = await tx.missions.create({ phase: 'PLANNING' });
        await tx.missions.delete(gone.id);
        await tx.memory.set(m.id, 'k', 1);
      });
      await store.missions.delete(m.id);
      const first = events[0]!.seq;
      expect(events.map((e) => e.seq)).toEqual([first, first + 1, first + 2, first + 3, first + 4]);
      expect(events.map((e) => e.changes)).toEqual([
        [{ table: 'missions', op: 'insert', rowid: m.id }],
        [{ table: 'tool_calls', op: 'insert', rowid: call.id }],
        [{ table: 'missions', op: 'update', rowid: m.id }],
        [{ table: 'agent_memory', op: 'insert', rowid: 1 }],
        [
          { table: 'agent_memory', op: 'delete', rowid: 1 },
          { table: 'missions', op: 'delete', rowid: m.id },
          { table: 'tool_calls', op: 'delete', rowid: call.id },
        ],
      ]);
    });

    it('a listener that throws is reported through onWarning; the store and the other listeners go on', async () => {
      const store = await fx.fresh();
      store.subscribe(() => {
        throw new Error('listener bug');
      });
      store.subscribe(async () => {
        throw new Error('async listener bug');
      });
      const events = record(store);
      const off = store.subscribe(() => {
        events.push({ seq: -1, changes: [] });
      });
      await store.missions.create({ phase: 'PLANNING' });
      off();
      off();
      await store.missions.create({ phase: 'PLANNING' });
      await eventually(() => fx.warnings.length >= 4, 'warnings');
      expect(events.filter((e) => e.seq !== -1)).toHaveLength(2);
      expect(events.filter((e) => e.seq === -1)).toHaveLength(1);
      expect(fx.warnings.filter((w) => /listener failed on commit \d+: listener bug/.test(w))).toHaveLength(2);
      expect(fx.warnings.filter((w) => /async listener bug/.test(w))).toHaveLength(2);
      expect(await count(store, 'missions')).toBe(2);
      expect(() => store.subscribe(42 as never)).toThrow(/listener function/);
    });

    it('a schema change and VACUUM reach the writer’s own feed as one reset event each', async () => {
      const store = await fx.fresh();
      const events = record(store);
      await store.missions.create({ phase: 'PLANNING' });
      await store.query('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
      await store.query('VACUUM');
      await store.query("INSERT INTO notes (body) VALUES ('x')");
      const first = events[0]!.seq;
      expect(events).toEqual([
        { seq: first, changes: [{ table: 'missions', op: 'insert', rowid: 1 }] },
        { seq: first + 1, changes: [], reset: true },
        { seq: first + 2, changes: [], reset: true },
        { seq: first + 3, changes: [{ table: 'notes', op: 'insert', rowid: 1 }] },
      ]);
      expect(await store.refresh()).toBe(0);
    });

    itReader(
      'a reader sees every acknowledged write at open, follows new ones on its own, and its feed agrees with the writer’s',
      async () => {
        const writer = await fx.fresh();
        const m = await writer.missions.create({ phase: 'PLANNING', uuid: 'm' });
        await writer.toolCalls.record({ mission: m.id, toolName: 'before', args: {}, success: true });
        const r = await reader();
        expect(await count(r)).toBe(1);
        const seen = record(r);
        const written = record(writer);
        await writer.toolCalls.record({ mission: m.id, toolName: 'after', args: {}, success: true });
        await writer.query(
          'INSERT OR REPLACE INTO tool_calls (id, mission_id, tool_name, args, success, timestamp) ' +
            "VALUES (1, ?, 'x', '{}', 1, '2026-11-28 12:00:00.000Z')",
          [m.id],
        );
        await writer.memory.set(m.id, 'k', 'v');
        await writer.missions.delete(m.id);
        await eventually(() => seen.length === written.length, 'the reader to see every commit');
        expect(seen).toEqual(written);
        expect(written[1]!.changes).toEqual([{ table: 'tool_calls', op: 'update', rowid: 1 }]);
        expect(await dump(r)).toEqual(await dump(writer));
      },
    );

    itReader('every write method of a reader rejects with READ_ONLY and changes nothing; reads and close work', async () => {
      const writer = await fx.fresh();
      const m = await writer.missions.create({ phase: 'PLANNING', uuid: 'm' });
      const run = await writer.playbookRuns.start({ mission: m.id, playbookName: 'p', phase: 'CODING' });
      const r = await reader();
      const before = await dump(r);
      let ran = false;
      const writes: [string, () => Promise<unknown>][] = [
        ['missions.create', () => r.missions.create({ phase: 'PLANNING' })],
        ['missions.setStatus', () => r.missions.setStatus('m', 'in_progress')],
        ['missions.setPhase', () => r.missions.setPhase('m', 'CODING')],
        ['missions.delete', () => r.missions.delete('m')],
        ['toolCalls.record', () => r.toolCalls.record({ mission: 'm', toolName: 't', args: {}, success: true })],
        [
          'toolCalls.track',
          () =>
            r.toolCalls.track('m', 't', {}, () => {
              ran = true;
            }),
        ],
        ['decisions.record', () => r.decisions.record({ mission: 'm', decisionType: 'd', rationale: 'r', agentName: 'a' })],
        ['playbookRuns.start', () => r.playbookRuns.start({ mission: 'm', playbookName: 'p', phase: 'CODING' })],
        ['playbookRuns.finish', () => r.playbookRuns.finish(run.id, { success: true })],
        ['memory.set', () => r.memory.set('m', 'k', 1)],
        ['memory.delete', () => r.memory.delete('m', 'k')],
        ['memory.sweepExpired', () => r.memory.sweepExpired()],
        [
          'transaction',
          () =>
            r.transaction(async () => {
              ran = true;
            }),
        ],
        ['query INSERT', () => r.query("INSERT INTO missions (phase) VALUES ('x')")],
        ['query UPDATE', () => r.query("UPDATE missions SET phase = 'x'")],
        ['query DELETE', () => r.query('DELETE FROM missions')],
        ['query CREATE', () => r.query('CREATE TABLE t (x)')],
        ['query VACUUM', () => r.query('VACUUM')],
        ['checkpoint', () => r.checkpoint()],
      ];
      for (const [what, write] of writes) expect((await rejection(write())).code, what).toBe('READ_ONLY');
      expect(ran).toBe(false);
      expect(await dump(r)).toEqual(before);
      expect(await r.query('SELECT phase FROM missions WHERE mission_uuid = ?', ['m'])).toEqual([{ phase: 'PLANNING' }]);
      expect(await r.query('EXPLAIN SELECT 1')).not.toEqual([]);
      expect(await r.missions.get('m')).toMatchObject({ id: m.id });
      // The writer was not disturbed.
      await writer.missions.setStatus('m', 'in_progress');
      await r.close();
      await r.close();
      expect((await rejection(r.refresh())).code).toBe('CLOSED');
      expect((await rejection(r.query('SELECT 1'))).code).toBe('CLOSED');
    });

    itReader(
      'refresh() catches up at once and says how many commits it applied; a checkpoint the reader kept up with is no reset',
      async () => {
        const writer = await fx.fresh();
        const r = await reader(refreshOnly(fx.harness.open()));
        const events = record(r);
        const m = await writer.missions.create({ phase: 'PLANNING' });
        await writer.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true });
        expect(await count(r)).toBe(0);
        expect(await r.refresh()).toBe(2);
        expect(await count(r)).toBe(1);
        await writer.checkpoint();
        await writer.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true });
        expect(await r.refresh()).toBe(1);
        expect(await r.refresh()).toBe(0);
        expect(events.map((e) => e.reset ?? false)).toEqual([false, false, false]);
        expect(await dump(r)).toEqual(await dump(writer));
      },
    );

    itReader('a reader that fell behind a checkpoint gets one reset event, then goes on', async () => {
      const writer = await fx.fresh();
      const r = await reader(refreshOnly(fx.harness.open()));
      const events = record(r);
      const written = record(writer);
      const m = await writer.missions.create({ phase: 'PLANNING' });
      await writer.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true });
      await writer.checkpoint();
      await writer.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true });
      expect(await r.refresh()).toBe(3);
      expect(events).toEqual([{ seq: written[1]!.seq, changes: [], reset: true }, written[2]]);
      await writer.memory.set(m.id, 'k', 1);
      await r.refresh();
      expect(events.slice(2)).toEqual([written[3]]);
      expect(await dump(r)).toEqual(await dump(writer));
    });

    itReader('schema changes reach readers as a reset, and the new table is readable', async () => {
      const writer = await fx.fresh();
      const r = await reader();
      const events = record(r);
      await writer.query('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
      await writer.query("INSERT INTO notes (body) VALUES ('hello')");
      await eventually(() => events.length === 2, 'two events');
      expect(events[0]).toMatchObject({ reset: true, changes: [] });
      expect(events[1]!.changes).toEqual([{ table: 'notes', op: 'insert', rowid: 1 }]);
      expect(await r.query('SELECT body FROM notes')).toEqual([{ body: 'hello' }]);
    });

    itReader('any number of readers, of a store nobody holds and across a writer’s restart', async () => {
      const first = await fx.fresh();
      await first.missions.create({ phase: 'PLANNING', uuid: 'a' });
      await first.close();
      const readers = [await reader(), await reader(), await reader()];
      for (const r of readers) expect(await count(r, 'missions')).toBe(1);
      const again = await fx.open();
      await again.missions.create({ phase: 'PLANNING', uuid: 'b' });
      const restarted = await fx.crashAndReopen();
      await restarted.missions.create({ phase: 'PLANNING', uuid: 'c' });
      for (const r of readers) {
        await r.refresh();
        expect((await r.query('SELECT mission_uuid AS u FROM missions ORDER BY id')).map((row) => row.u)).toEqual(['a', 'b', 'c']);
      }
    });

    itReader('a reader of a store that does not exist yet shows empty tables, then follows its first writer', async () => {
      const harness = await factory();
      const stores: SQLiteStore[] = [];
      try {
        const r = await openStore({ adapter: harness.open(), readOnly: true });
        stores.push(r);
        expect(await count(r, 'missions')).toBe(0);
        const events = record(r);
        const writer = await openStore({ adapter: harness.open() });
        stores.push(writer);
        await writer.missions.create({ phase: 'PLANNING' });
        await eventually(async () => (await count(r, 'missions')) === 1, 'the reader to see the mission');
        expect(events[0]).toMatchObject({ reset: true });
      } finally {
        for (const store of stores) await store.close();
        await harness.destroy();
      }
    });

    if (!capabilities.readers) {
      it('an adapter without openReader refuses a readOnly open with INVALID_INPUT naming it', async () => {
        await fx.fresh();
        const error = await rejection(fx.open({ readOnly: true }));
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message).toContain('openReader');
      });
    }
  });
}
