/**
 * agent-ops-store/testing: the contract every PersistenceAdapter must pass, for authors of a new
 * adapter to run in their own test runner. The runner's functions are passed in, not imported,
 * so the suite works with the caller's own vitest (or jest) and this module loads no test framework.
 */

// Types only: the suite never loads the store's code, so it cannot bring a second copy of it
// (and of StoreError) beside the one the adapter under test imports.
import type { PersistenceAdapter, SnapshotChunks } from '../src/index.js';

/** One storage location under test, reopened as often as a test likes. */
export interface AdapterHarness {
  /** A new adapter over the same underlying storage each call, like reopening the same path. */
  open(): PersistenceAdapter;
  /** Makes the storage as if its holder had died without close(): releases its lock, keeps its bytes. */
  crash(): void | Promise<void>;
  /** Deletes the storage. */
  destroy(): Promise<void>;
}

/** Makes a fresh, empty storage location for one test. */
export type HarnessFactory = () => AdapterHarness | Promise<AdapterHarness>;

/**
 * The part of a test runner the suite uses: vitest's (or jest's) `describe`, `it`, `afterEach`
 * and `expect`, of which only `toBe` (Object.is) and `toEqual` (deep equality).
 */
export interface TestApi {
  describe(name: string, body: () => void): void;
  it(name: string, test: () => Promise<void>): void;
  afterEach(hook: () => Promise<void>): void;
  expect(actual: unknown): { toBe(expected: unknown): void; toEqual(expected: unknown): void };
}

const bytes = (...values: number[]) => new Uint8Array(values);
const big = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const list = (records: readonly Uint8Array[]) => records.map((r) => Array.from(r));

/** The `code` of a StoreError, read by shape: the adapter's StoreError may come from another copy of the package. */
/** SHA-256 of `data` (WebCrypto, in Node 20+ and browsers): the hash a chunk base lists. */
async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'StoreError'
    ? (error as { code?: unknown }).code
    : `not a StoreError: ${String(error)}`;
}

/** What `promise` rejects with; 'resolved' when it does not. */
function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

/**
 * Registers the guarantees every PersistenceAdapter gives, whatever it stores bytes in: load,
 * append and checkpoint byte for byte, one holder at a time (LOCKED), a dead holder's lock
 * recovered, CLOSED after close. Run it once per adapter and runtime.
 *
 * @example
 * import { afterEach, describe, expect, it } from 'vitest';
 * import { adapterContract } from 'agent-ops-store/testing';
 * adapterContract('my adapter', () => myHarness(), { describe, it, afterEach, expect });
 */
export function adapterContract(name: string, factory: HarnessFactory, test: TestApi): void {
  const { describe, it, afterEach, expect } = test;
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
      expect(state.snapshot).toBe(null);
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
      expect(list(state.records)).toEqual(list(records));
      expect(state.snapshot).toBe(null);
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
      expect(list(state.records)).toEqual([[3]]);
      await again.checkpoint(big(1000, 1));
      await again.close();
      const third = h.open();
      const last = await third.load();
      expect(last.snapshot?.length).toBe(1000);
      expect(last.records).toEqual([]);
      await third.close();
    });

    it('prepareCheckpoint, where offered: appends go on while it is prepared; commit keeps exactly the last records; discard changes nothing', async () => {
      const h = await fresh();
      const adapter = h.open();
      if (!adapter.prepareCheckpoint) return;
      await adapter.load();
      await adapter.append(bytes(1));
      await adapter.append(bytes(2));
      const first = big(300_000, 4);
      const discarded = await adapter.prepareCheckpoint(first);
      await adapter.append(bytes(3));
      await discarded.discard();
      await discarded.discard();
      await adapter.close();
      const reopened = h.open();
      const untouched = await reopened.load();
      expect(untouched.snapshot).toBe(null);
      expect(list(untouched.records)).toEqual([[1], [2], [3]]);
      const snapshot = big(300_000, 7);
      const prepared = await reopened.prepareCheckpoint!(snapshot);
      // Appended after the snapshot was taken: they extend it and must stay.
      await reopened.append(bytes(4));
      await reopened.append(big(70_000, 2));
      await prepared.commit(2);
      await reopened.append(bytes(5));
      expect(list((await reopened.load()).records)).toEqual([[4], Array.from(big(70_000, 2)), [5]]);
      await reopened.close();
      const again = h.open();
      const state = await again.load();
      expect(state.snapshot?.length).toBe(snapshot.length);
      expect(state.snapshot && Array.from(state.snapshot.subarray(0, 64))).toEqual(Array.from(snapshot.subarray(0, 64)));
      expect(list(state.records)).toEqual([[4], Array.from(big(70_000, 2)), [5]]);
      const tooMany = await again.prepareCheckpoint!(big(1000, 3));
      expect(codeOf(await rejection(tooMany.commit(4)))).toBe('INVALID_INPUT');
      const none = await again.prepareCheckpoint!(big(1000, 3));
      await none.commit(0);
      await again.close();
      const last = h.open();
      const emptied = await last.load();
      expect(emptied.snapshot?.length).toBe(1000);
      expect(emptied.records).toEqual([]);
      await last.close();
    });

    it('prepareCheckpoint takes a snapshot as chunks only where chunkBase is offered: the chunks that differ from the base commit; elsewhere INVALID_INPUT', async () => {
      const h = await fresh();
      const adapter = h.open();
      if (!adapter.prepareCheckpoint) return;
      await adapter.load();
      const base = big(2_600_000, 4);
      await adapter.checkpoint(base);
      const next = base.slice().fill(9, 1_200_000, 1_210_000);
      if (!adapter.chunkBase) {
        const whole: SnapshotChunks = {
          length: next.length,
          hashes: { chunkBytes: next.length, hashes: [await sha256(next)] },
          chunks: new Map([[0, next]]),
        };
        expect(codeOf(await rejection(adapter.prepareCheckpoint(whole)))).toBe('INVALID_INPUT');
        await adapter.close();
        return;
      }
      const known = adapter.chunkBase();
      expect(known === null).toBe(false);
      const { chunkBytes } = known!;
      const hashes: Uint8Array[] = [];
      const chunks = new Map<number, Uint8Array>();
      for (let i = 0; i * chunkBytes < next.length; i++) {
        const chunk = next.slice(i * chunkBytes, (i + 1) * chunkBytes);
        hashes.push(await sha256(chunk));
        const before = known!.hashes[i];
        if (i === 0 || !before || !sameBytes(before, hashes[i]!)) chunks.set(i, chunk);
      }
      const prepared = await adapter.prepareCheckpoint({ length: next.length, hashes: { chunkBytes, hashes }, chunks });
      await prepared.commit(0);
      await adapter.close();
      const again = h.open();
      const state = await again.load();
      expect(state.snapshot !== null && sameBytes(state.snapshot, next)).toBe(true);
      await again.close();
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
      expect(list(state.records)).toEqual([[8]]);
      await again.close();
    });

    it('lets one holder at a time: a second opener gets LOCKED, and gets in after close', async () => {
      const h = await fresh();
      const first = h.open();
      await first.load();
      const second = h.open();
      expect(codeOf(await rejection(second.load()))).toBe('LOCKED');
      await first.close();
      const third = h.open();
      expect(typeof (await third.load())).toBe('object');
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
      expect(list(state.records)).toEqual([[4, 2]]);
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
      expect(list(again.records)).toEqual([[2]]);
      await adapter.append(bytes(3));
      await adapter.close();
      const next = h.open();
      expect(list((await next.load()).records)).toEqual([[2], [3]]);
      await next.close();
    });

    it('refuses appends and checkpoints after close, with CLOSED; close twice is fine', async () => {
      const h = await fresh();
      const adapter = h.open();
      await adapter.load();
      await adapter.close();
      await adapter.close();
      expect(codeOf(await rejection(adapter.append(bytes(1))))).toBe('CLOSED');
      expect(codeOf(await rejection(adapter.checkpoint(big(512, 1))))).toBe('CLOSED');
    });

    it('a foreign log never costs the log: setAsideLog, where offered, saves a copy and says where, or refuses with CORRUPT', async () => {
      const h = await fresh();
      const adapter = h.open();
      await adapter.load();
      await adapter.append(bytes(1));
      await adapter.append(bytes(2));
      // Adapters without it make the store refuse a foreign log with CORRUPT.
      if (adapter.setAsideLog) {
        const outcome = await adapter.setAsideLog('2 of its 2 record(s) belong to another store').then(
          (message) => message,
          (e: unknown) => e,
        );
        if (typeof outcome === 'string') expect(/another store/.test(outcome)).toBe(true);
        else expect(codeOf(outcome)).toBe('CORRUPT');
      }
      await adapter.append(bytes(3));
      await adapter.close();
      const again = h.open();
      expect(list((await again.load()).records)).toEqual([[1], [2], [3]]);
      await again.close();
    });

    it('openReader, where offered, reads beside the holder without its lock and follows appends and checkpoints', async () => {
      const h = await fresh();
      const holder = h.open();
      // A capability: adapters without it make `openStore({ readOnly: true })` refuse with INVALID_INPUT.
      if (!holder.openReader) return;
      await holder.load();
      await holder.append(bytes(1));
      const tail = holder.openReader();
      const first = await tail.load();
      expect(list(first.records)).toEqual([[1]]);
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
      expect(list(after.records)).toEqual([[3]]);
      // The watch fires (within 100 ms on a quiet machine; up to 2 s allowed for a busy one).
      for (let waited = 0; changes === 0 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(changes > 0).toBe(true);
      stop();
      await tail.close();
      await tail.close();
      // The tail never held the lock: the holder's lock still keeps a second holder out.
      const second = h.open();
      expect(codeOf(await rejection(second.load()))).toBe('LOCKED');
      await holder.close();
    });

    it('names its storage in `location`', async () => {
      const adapter = (await fresh()).open();
      expect(typeof adapter.location).toBe('string');
      expect(adapter.location.length > 0).toBe(true);
    });
  });
}
