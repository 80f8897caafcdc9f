import { describe, expect, it } from 'vitest';
import type { SQLiteStore } from '../../src/index.js';
import type { HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

// A limit a fresh store (the schema: ~100 KiB) reaches after a few dozen tool calls.
const MAX_BYTES = 256 * 1024;
// Arguments large enough that every few calls take a new page.
const ARGS = { text: 'x'.repeat(2000) };

async function sizeOf(store: SQLiteStore): Promise<number> {
  const [row] = await store.query<{ n: number }>('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()');
  return row!.n;
}

async function toolCalls(store: SQLiteStore, mission?: string): Promise<number> {
  const where = mission ? ' WHERE mission_id = (SELECT id FROM missions WHERE mission_uuid = ?)' : '';
  const [row] = await store.query<{ n: number }>(`SELECT count(*) AS n FROM tool_calls${where}`, mission ? [mission] : []);
  return row!.n;
}

/** Records tool calls until one is refused; resolves with how many were acknowledged and the refusal. */
async function fill(store: SQLiteStore, mission: string) {
  let acknowledged = 0;
  for (let i = 0; i < 10_000; i++) {
    const refused = await store.toolCalls.record({ mission, toolName: `t${i}`, args: ARGS, success: true }).then(
      () => null,
      (error: unknown) => error,
    );
    if (refused) return { acknowledged, error: await rejection(Promise.reject(refused)) };
    acknowledged++;
  }
  throw new Error('the store never refused a write');
}

/**
 * The size limit (`openStore({ maxBytes })`): writes that would grow the database past it are
 * refused with FULL and rolled back; reads, deletes and a reopen keep working; one warning at 75%.
 */
export function sizeLimitSuite(name: string, factory: HarnessFactory): void {
  describe(`size limit: ${name}`, () => {
    const fixture = useStoreFixture(factory);

    it('refuses the write that would pass maxBytes with FULL naming the size, the limit and the way out; all acknowledged writes survive', async () => {
      const store = await fixture.fresh({ maxBytes: MAX_BYTES });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-full' });
      const { acknowledged, error } = await fill(store, 'm-full');
      expect(acknowledged).toBeGreaterThan(10);
      expect(error.code).toBe('FULL');
      const reached = Number(/would grow it to (\d+) bytes/.exec(error.message)?.[1]);
      expect(reached).toBeGreaterThan(MAX_BYTES);
      expect(error.message).toContain(`limit of ${MAX_BYTES} bytes`);
      expect(error.message).toMatch(/agent-ops archive/);
      expect(error.message).toMatch(/missions\.delete/);
      expect(await sizeOf(store)).toBeLessThanOrEqual(MAX_BYTES);
      expect(await toolCalls(store)).toBe(acknowledged);

      const again = await fixture.crashAndReopen({ maxBytes: MAX_BYTES });
      expect(await toolCalls(again)).toBe(acknowledged);
      const refused = await rejection(again.toolCalls.record({ mission: 'm-full', toolName: 'more', args: ARGS, success: true }));
      expect(refused.code).toBe('FULL');
    });

    it('warns once through onWarning when the store passes 75% of the limit', async () => {
      const store = await fixture.fresh({ maxBytes: MAX_BYTES });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-warn' });
      await fill(store, 'm-warn');
      await store.toolCalls.record({ mission: 'm-warn', toolName: 'again', args: ARGS, success: true }).catch(() => undefined);
      const warned = fixture.warnings.filter((message) => message.includes('75%'));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/limit/);
    });

    it('a full store still deletes (cascades included), takes writes into the room that freed, and shrinks with VACUUM', async () => {
      const store = await fixture.fresh({ maxBytes: MAX_BYTES });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-old' });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-new' });
      const empty = await sizeOf(store);
      const { acknowledged } = await fill(store, 'm-old');
      const full = await sizeOf(store);

      await store.missions.delete('m-old');
      expect(await toolCalls(store)).toBe(0);
      // The freed pages stay in the file (the freelist): the size is unchanged, and new rows reuse them.
      expect(await sizeOf(store)).toBe(full);
      for (let i = 0; i < acknowledged / 2; i++) {
        await store.toolCalls.record({ mission: 'm-new', toolName: `n${i}`, args: ARGS, success: true });
      }
      expect(await toolCalls(store, 'm-new')).toBe(Math.ceil(acknowledged / 2));

      await store.missions.delete('m-new');
      await store.query('VACUUM');
      // Back to about the size of the store before it was filled (VACUUM may lay the schema out a
      // page or two differently), far below the full size.
      expect(await sizeOf(store)).toBeLessThanOrEqual(empty + 2 * 4096);
      expect(empty).toBeLessThan(full);
      const reopened = await fixture.closeAndReopen(store, { maxBytes: MAX_BYTES });
      expect(await toolCalls(reopened)).toBe(0);
      expect((await reopened.missions.list()).length).toBe(0);
    });

    it('rolls back the whole transaction that would pass the limit', async () => {
      const store = await fixture.fresh({ maxBytes: MAX_BYTES });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-tx' });
      const before = await dump(store);
      const error = await rejection(
        store.transaction(async (tx) => {
          await tx.missions.create({ phase: 'CODING', uuid: 'm-inside' });
          for (let i = 0; i < 200; i++) await tx.toolCalls.record({ mission: 'm-tx', toolName: `b${i}`, args: ARGS, success: true });
        }),
      );
      expect(error.code).toBe('FULL');
      expect(await dump(store)).toEqual(before);
      const reopened = await fixture.crashAndReopen({ maxBytes: MAX_BYTES });
      expect(await dump(reopened)).toEqual(before);
    });

    it('covers raw SQL and schema changes too: an INSERT of a big BLOB and a CREATE INDEX past the limit are refused and leave nothing', async () => {
      const store = await fixture.fresh({ maxBytes: MAX_BYTES });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-raw' });
      for (let i = 0; i < 200; i++) {
        const added = await store.toolCalls.record({ mission: 'm-raw', toolName: `r${i}`, args: ARGS, success: true }).then(
          () => true,
          () => false,
        );
        if (!added || (await sizeOf(store)) > MAX_BYTES * 0.85) break;
      }
      await store.run('CREATE TABLE pad (b BLOB)');
      const before = await dump(store);
      const insert = await rejection(store.run('INSERT INTO pad (b) VALUES (?)', [new Uint8Array(MAX_BYTES)]));
      expect(insert.code).toBe('FULL');
      // An index on the 2 KB args of every call is about as big as the table: past the limit.
      const index = await rejection(store.run('CREATE INDEX tool_calls_by_args ON tool_calls (args)'));
      expect(index.code).toBe('FULL');
      expect(await store.query("SELECT name FROM sqlite_master WHERE name = 'tool_calls_by_args'")).toEqual([]);
      expect(await dump(store)).toEqual(before);
      expect(await store.query('SELECT count(*) AS n FROM pad')).toEqual([{ n: 0 }]);
      await store.toolCalls.record({ mission: 'm-raw', toolName: 'small', args: {}, success: true });
      const reopened = await fixture.closeAndReopen(store, { maxBytes: MAX_BYTES });
      expect(await reopened.query("SELECT name FROM sqlite_master WHERE name = 'tool_calls_by_args'")).toEqual([]);
      expect(await reopened.query("SELECT count(*) AS n FROM tool_calls WHERE tool_name = 'small'")).toEqual([{ n: 1 }]);
    });

    it('inside a group commit, the writes past the limit are refused with FULL alone; the ones before are durable', async () => {
      const store = await fixture.fresh({ maxBytes: MAX_BYTES });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-group' });
      // Started in one tick, these share commits; the limit falls somewhere inside them.
      const settled = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) => store.toolCalls.record({ mission: 'm-group', toolName: `g${i}`, args: ARGS, success: true })),
      );
      const kept = settled.filter((s) => s.status === 'fulfilled').length;
      const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      expect(kept).toBeGreaterThan(10);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((s) => (s.reason as { code?: string }).code === 'FULL')).toBe(true);
      expect(await sizeOf(store)).toBeLessThanOrEqual(MAX_BYTES);
      const again = await fixture.crashAndReopen({ maxBytes: MAX_BYTES });
      expect(await toolCalls(again, 'm-group')).toBe(kept);
    });

    it('refuses a maxBytes that is not a positive number with INVALID_INPUT', async () => {
      const store = await fixture.fresh();
      await store.close();
      for (const maxBytes of [0, -1, Number.NaN, '1000' as unknown as number]) {
        const error = await rejection(fixture.open({ maxBytes }));
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message).toContain('maxBytes');
      }
    });
  });
}
