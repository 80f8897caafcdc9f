import { afterEach, describe, expect, it } from 'vitest';
import { type OpenStoreOptions, openStore, type PersistenceAdapter, type SQLiteStore } from '../../src/index.js';
import { decodeRecord } from '../../src/record-codec.js';
import { readGeneration, readIdentity } from '../../src/snapshot-header.js';
import type { AdapterHarness, HarnessFactory } from './harness.js';
import { asFormat1Record, asLegacySnapshot } from './legacy-format.js';
import { rejection } from './store-fixture.js';

/** Delegates to `adapter`; a class instance's methods do not survive a spread, so each is named. */
function wrap(adapter: PersistenceAdapter, overrides: Partial<PersistenceAdapter>): PersistenceAdapter {
  return {
    location: adapter.location,
    load: () => adapter.load(),
    append: (record) => adapter.append(record),
    checkpoint: (snapshot) => adapter.checkpoint(snapshot),
    close: () => adapter.close(),
    ...overrides,
  };
}

/** An adapter whose checkpoints fail as on a full disk while `full` is set; appends still work. */
function diskFillingAdapter(adapter: PersistenceAdapter) {
  const disk = { full: false, failed: 0, written: 0 };
  const wrapped = wrap(adapter, {
    async checkpoint(snapshot) {
      if (disk.full) {
        disk.failed++;
        throw Object.assign(new Error(`ENOSPC: no space left on device, write '${adapter.location}'`), { code: 'ENOSPC' });
      }
      await adapter.checkpoint(snapshot);
      disk.written++;
    },
  });
  return { adapter: wrapped, disk };
}

/**
 * Store identity: a log copied in from another store is refused with CORRUPT or set aside, and
 * never applied; a store of the previous release (no identity) opens and keeps its data. Also
 * the back-off of failing background checkpoints (a full disk). Runs on every adapter: a foreign
 * log is made through the adapters themselves, by appending store B's records to store A's log.
 */
export function identitySuite(name: string, factory: HarnessFactory): void {
  const harnesses: AdapterHarness[] = [];
  const stores: SQLiteStore[] = [];
  const warnings: string[] = [];
  const fresh = async (): Promise<AdapterHarness> => {
    const harness = await factory();
    harnesses.push(harness);
    return harness;
  };
  const open = async (adapter: PersistenceAdapter, options: Partial<OpenStoreOptions> = {}): Promise<SQLiteStore> => {
    const store = await openStore({ adapter, onWarning: (message) => warnings.push(message), ...options });
    stores.push(store);
    return store;
  };
  const uuids = async (store: SQLiteStore): Promise<unknown[]> =>
    (await store.query('SELECT mission_uuid FROM missions ORDER BY id')).map((row) => row.mission_uuid);
  /** What the adapter holds now, read without a store (the storage must not be held). */
  const raw = async (harness: AdapterHarness) => {
    const adapter = harness.open();
    const state = await adapter.load();
    await adapter.close();
    return state;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    for (const harness of harnesses.splice(0)) await harness.destroy();
    warnings.length = 0;
  });

  /**
   * Store A: a snapshot holding mission a-1, and (with `ownRecord`) a-2 in its log. Store B:
   * b-1 and b-2 in its log, at the same generation as A's snapshot. B's records are appended to
   * A's log, as if B's log had been copied beside A's snapshot.
   */
  async function foreignLogBesideA(ownRecord: boolean): Promise<{ a: AdapterHarness; b: AdapterHarness; bRecords: number }> {
    const a = await fresh();
    const b = await fresh();
    for (const [harness, first] of [
      [a, 'a-1'],
      [b, 'b-0'],
    ] as const) {
      const store = await open(harness.open());
      await store.missions.create({ phase: 'PLANNING', uuid: first });
      await store.close();
    }
    if (ownRecord) {
      const store = await open(a.open());
      await store.missions.create({ phase: 'CODING', uuid: 'a-2' });
      await a.crash();
    }
    const storeB = await open(b.open());
    await storeB.missions.create({ phase: 'PLANNING', uuid: 'b-1' });
    await storeB.missions.create({ phase: 'PLANNING', uuid: 'b-2' });
    await b.crash();
    const fromB = await raw(b);
    const adapter = a.open();
    const stateA = await adapter.load();
    // The case: the same checkpoint generation, so only the identity tells them apart.
    expect(fromB.records.map((r) => decodeRecord(r).generation)).toEqual([
      readGeneration(stateA.snapshot),
      readGeneration(stateA.snapshot),
    ]);
    for (const record of fromB.records) await adapter.append(record);
    await adapter.close();
    return { a, b, bRecords: fromB.records.length };
  }

  describe(`store identity: ${name}`, () => {
    it('stamps one identity into the snapshot and every record, different for another store', async () => {
      const a = await fresh();
      const store = await open(a.open());
      await store.missions.create({ phase: 'PLANNING', uuid: 'a-1' });
      await a.crash();
      const state = await raw(a);
      const identity = readIdentity(state.snapshot);
      expect(identity).toMatch(/^[0-9a-f]{16}$/);
      expect(state.records.length).toBeGreaterThan(0);
      for (const record of state.records) expect(decodeRecord(record).identity).toBe(identity);
      const other = await fresh();
      await (await open(other.open())).close();
      expect(readIdentity((await raw(other)).snapshot)).not.toBe(identity);
      // The identity survives the store's own round trips: reopen, write, close.
      const again = await open(a.open());
      await again.missions.create({ phase: 'PLANNING', uuid: 'a-2' });
      await again.close();
      expect(readIdentity((await raw(a)).snapshot)).toBe(identity);
    });

    it("refuses another store's log at the same generation with CORRUPT, applies none of it and changes nothing", async () => {
      const { a, bRecords } = await foreignLogBesideA(false);
      const before = await raw(a);
      const error = await rejection(open(a.open()));
      expect(error.code).toBe('CORRUPT');
      expect(error.message).toMatch(/belongs to another store/);
      const after = await raw(a);
      expect(after.records.length).toBe(bRecords);
      expect(after.records).toEqual(before.records);
      expect(after.snapshot).toEqual(before.snapshot);
    });

    it('sets the log aside when the adapter offers to: opens with a warning, holds only its own data, and reopens clean', async () => {
      const { a } = await foreignLogBesideA(true);
      const reasons: string[] = [];
      const setAside = (adapter: PersistenceAdapter) =>
        wrap(adapter, {
          async setAsideLog(reason) {
            reasons.push(reason);
            return `kept a copy of the log: ${reason}`;
          },
        });
      const store = await open(setAside(a.open()));
      expect(await uuids(store)).toEqual(['a-1', 'a-2']);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/^2 of its 3 record\(s\) belong to another store/);
      expect(warnings).toEqual([`kept a copy of the log: ${reasons[0]}`]);
      // Checkpointed at once: the log no longer holds the foreign records.
      await a.crash();
      expect((await raw(a)).records).toEqual([]);
      warnings.length = 0;
      const again = await open(a.open());
      expect(await uuids(again)).toEqual(['a-1', 'a-2']);
      expect(warnings).toEqual([]);
    });

    it('opens a store of the previous release (no identity, format-1 records), keeps its data and gives it an identity', async () => {
      const a = await fresh();
      const first = await open(a.open());
      await first.missions.create({ phase: 'PLANNING', uuid: 'old-1' });
      await first.close();
      const second = await open(a.open());
      await second.missions.create({ phase: 'PLANNING', uuid: 'old-2' });
      await second.memory.set('old-2', 'plan', { steps: ['a'] });
      await a.crash();
      // Rewrite the storage as the previous release left it.
      const current = await raw(a);
      const adapter = a.open();
      await adapter.load();
      await adapter.checkpoint(asLegacySnapshot(current.snapshot!));
      for (const record of current.records) await adapter.append(asFormat1Record(record));
      await adapter.close();
      const legacy = await raw(a);
      expect(readIdentity(legacy.snapshot)).toBeNull();
      expect(legacy.records.map((r) => decodeRecord(r).identity)).toEqual(current.records.map(() => null));

      const store = await open(a.open());
      expect(await uuids(store)).toEqual(['old-1', 'old-2']);
      expect(await store.memory.get('old-2', 'plan')).toEqual({ steps: ['a'] });
      await store.missions.create({ phase: 'PLANNING', uuid: 'new-1' });
      await a.crash();
      const upgraded = await raw(a);
      const identity = readIdentity(upgraded.snapshot);
      expect(identity).not.toBeNull();
      expect(upgraded.records.map((r) => decodeRecord(r).identity)).toEqual([identity]);
      const again = await open(a.open());
      expect(await uuids(again)).toEqual(['old-1', 'old-2', 'new-1']);
      expect(warnings).toEqual([]);
    });
  });

  describe(`checkpoint back-off: ${name}`, () => {
    it('on a full disk, 200 writes make a handful of checkpoint attempts and one warning; once it clears, the log is folded', async () => {
      const a = await fresh();
      const { adapter, disk } = diskFillingAdapter(a.open());
      const store = await open(adapter, { checkpoint: { logRatio: 0, minLogBytes: 4096, maxLogBytes: 4096 } });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm' });
      disk.full = true;
      const record = (i: number) =>
        store.toolCalls.record({ mission: 'm', toolName: 'write_file', args: { i, pad: 'x'.repeat(200) }, success: true });
      for (let i = 0; i < 200; i++) await record(i);
      await store.query('SELECT 1'); // after any background checkpoint still queued
      expect(disk.failed).toBeGreaterThan(0);
      expect(disk.failed).toBeLessThanOrEqual(6);
      expect(warnings.filter((w) => /background checkpoint failed/.test(w))).toHaveLength(1);
      expect(warnings[0]).toMatch(/ENOSPC/);

      disk.full = false;
      const writtenBefore = disk.written;
      let writes = 200;
      while (disk.written === writtenBefore && writes < 2000) {
        await record(writes++);
        await store.query('SELECT 1');
      }
      expect(disk.written).toBe(writtenBefore + 1);
      expect(warnings.filter((w) => /background checkpoint failed/.test(w))).toHaveLength(1);
      expect(warnings.at(-1)).toMatch(/checkpoints succeed again/);
      // The checkpoint came after the last write: the log is empty, and nothing was lost.
      await a.crash();
      expect((await raw(a)).records).toEqual([]);
      const again = await open(a.open());
      expect((await again.query('SELECT count(*) AS n FROM tool_calls'))[0]!.n).toBe(writes);
    });
  });
}
