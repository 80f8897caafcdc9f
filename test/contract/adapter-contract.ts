import { afterEach, describe, expect, it } from 'vitest';
import { isStoreError } from '../../src/index.js';
import type { AdapterHarness, HarnessFactory } from './harness.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const big = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/**
 * The guarantees every PersistenceAdapter gives, whatever it stores bytes in. Run once per
 * adapter and runtime: `adapterContract('fs', () => fsHarness())`.
 */
export function adapterContract(name: string, factory: HarnessFactory): void {
  describe(`adapter contract: ${name}`, () => {
    let harness: AdapterHarness | undefined;
    const fresh = async () => {
      harness = await factory();
      return harness;
    };
    afterEach(async () => {
      await harness?.destroy();
      harness = undefined;
    });

    it('loads an empty state from new storage', async () => {
      const adapter = (await fresh()).open();
      const state = await adapter.load();
      expect(state.snapshot).toBeNull();
      expect(state.records).toEqual([]);
      await adapter.close();
    });

    it('gives back appended records, in order and byte for byte, after a reopen', async () => {
      const h = await fresh();
      const first = h.open();
      await first.load();
      const records = [bytes(1), bytes(2, 3), big(70_000, 5), bytes(0, 0, 0)];
      for (const record of records) await first.append(record);
      await first.close();
      const second = h.open();
      const state = await second.load();
      expect(state.records.map((r) => Array.from(r))).toEqual(records.map((r) => Array.from(r)));
      expect(state.snapshot).toBeNull();
      await second.close();
    });

    it('checkpoint replaces the snapshot and drops the records before it, and later appends follow it', async () => {
      const h = await fresh();
      const adapter = h.open();
      await adapter.load();
      await adapter.append(bytes(1));
      await adapter.append(bytes(2));
      const snapshot = big(300_000, 9);
      await adapter.checkpoint(snapshot);
      await adapter.append(bytes(3));
      await adapter.close();
      const again = h.open();
      const state = await again.load();
      expect(state.snapshot && Array.from(state.snapshot.subarray(0, 64))).toEqual(Array.from(snapshot.subarray(0, 64)));
      expect(state.snapshot?.length).toBe(snapshot.length);
      expect(state.records.map((r) => Array.from(r))).toEqual([[3]]);
      await again.checkpoint(big(1000, 1));
      await again.close();
      const third = h.open();
      const last = await third.load();
      expect(last.snapshot?.length).toBe(1000);
      expect(last.records).toEqual([]);
      await third.close();
    });

    it('keeps its own copies: a caller changing its buffer afterwards changes nothing', async () => {
      const h = await fresh();
      const adapter = h.open();
      await adapter.load();
      const record = bytes(7, 7, 7);
      await adapter.append(record);
      record[0] = 99;
      const snapshot = big(4096, 2);
      await adapter.checkpoint(snapshot);
      await adapter.append(bytes(8));
      snapshot[0] = 99;
      await adapter.close();
      const again = h.open();
      const state = await again.load();
      expect(state.snapshot?.[0]).toBe(big(4096, 2)[0]);
      expect(Array.from(state.records[0]!)).toEqual([8]);
      await again.close();
    });

    it('lets one holder at a time: a second opener gets LOCKED, and gets in after close', async () => {
      const h = await fresh();
      const first = h.open();
      await first.load();
      const second = h.open();
      const error = await second.load().then(
        () => null,
        (e: unknown) => e,
      );
      expect(isStoreError(error, 'LOCKED')).toBe(true);
      await first.close();
      const third = h.open();
      await expect(third.load()).resolves.toBeTruthy();
      await third.close();
    });

    it('recovers the lock of a holder that died, keeping what it appended', async () => {
      const h = await fresh();
      const first = h.open();
      await first.load();
      await first.append(bytes(4, 2));
      await h.crash();
      const second = h.open();
      const state = await second.load();
      expect(state.records.map((r) => Array.from(r))).toEqual([[4, 2]]);
      await second.close();
    });

    it('lets its holder load again, re-reading what is durable without locking itself out', async () => {
      const h = await fresh();
      const adapter = h.open();
      await adapter.load();
      await adapter.append(bytes(1));
      await adapter.checkpoint(big(2048, 3));
      await adapter.append(bytes(2));
      const again = await adapter.load();
      expect(again.snapshot?.length).toBe(2048);
      expect(again.records.map((r) => Array.from(r))).toEqual([[2]]);
      await adapter.append(bytes(3));
      await adapter.close();
      const next = h.open();
      expect((await next.load()).records.map((r) => Array.from(r))).toEqual([[2], [3]]);
      await next.close();
    });

    it('refuses appends and checkpoints after close, with CLOSED; close twice is fine', async () => {
      const h = await fresh();
      const adapter = h.open();
      await adapter.load();
      await adapter.close();
      await adapter.close();
      await expect(adapter.append(bytes(1))).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(adapter.checkpoint(big(512, 1))).rejects.toMatchObject({ code: 'CLOSED' });
    });

    it('a foreign log never costs the log: setAsideLog, where offered, saves a copy and says where, or refuses with CORRUPT', async () => {
      const h = await fresh();
      const adapter = h.open();
      await adapter.load();
      await adapter.append(bytes(1));
      await adapter.append(bytes(2));
      // Adapters without it make the store refuse a foreign log with CORRUPT (identity suite).
      if (adapter.setAsideLog) {
        const outcome = await adapter.setAsideLog('2 of its 2 record(s) belong to another store').then(
          (message) => message,
          (e: unknown) => e,
        );
        if (typeof outcome === 'string') expect(outcome).toMatch(/another store/);
        else expect(isStoreError(outcome, 'CORRUPT')).toBe(true);
      }
      await adapter.append(bytes(3));
      await adapter.close();
      const again = h.open();
      expect((await again.load()).records.map((r) => Array.from(r))).toEqual([[1], [2], [3]]);
      await again.close();
    });

    it('openReader, where offered, reads beside the holder without its lock and follows appends and checkpoints', async (ctx) => {
      const h = await fresh();
      const holder = h.open();
      if (!holder.openReader) return ctx.skip();
      await holder.load();
      await holder.append(bytes(1));
      const tail = holder.openReader();
      const first = await tail.load();
      expect(first.records.map((r) => Array.from(r))).toEqual([[1]]);
      let changes = 0;
      const stop = tail.watch(() => changes++);
      expect(await tail.poll()).toEqual([]);
      await holder.append(bytes(2));
      await holder.append(big(70_000, 4));
      const polled = await tail.poll();
      expect(polled !== 'reload' && polled.map((r) => r.length)).toEqual([1, 70_000]);
      expect(await tail.poll()).toEqual([]);
      await holder.checkpoint(big(4096, 6));
      await holder.append(bytes(3));
      expect(await tail.poll()).toBe('reload');
      const after = await tail.load();
      expect(after.snapshot?.length).toBe(4096);
      expect(after.records.map((r) => Array.from(r))).toEqual([[3]]);
      // Well within the 100 ms a reader has to notice a change.
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(changes).toBeGreaterThan(0);
      stop();
      await tail.close();
      await tail.close();
      // The tail never held the lock: the holder's lock still keeps a second holder out.
      const second = h.open();
      expect(isStoreError(await second.load().catch((e: unknown) => e), 'LOCKED')).toBe(true);
      await holder.close();
    });

    it('names its storage in `location`', async () => {
      const adapter = (await fresh()).open();
      expect(typeof adapter.location).toBe('string');
      expect(adapter.location.length).toBeGreaterThan(0);
    });
  });
}
