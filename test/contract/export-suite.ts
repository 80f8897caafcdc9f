import { describe, expect, it } from 'vitest';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { openStore } from '../../src/index.js';
import { readIdentity, readSeq } from '../../src/snapshot-header.js';
import type { HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

/**
 * `store.exportDatabase()`: the bytes are a whole SQLite file holding every acknowledged write
 * (checkpointed or still in the log), they open as a store of their own, and exporting changes
 * nothing in the store it came from: `exportSuite('memory (Node)', memoryHarness)`.
 */
export function exportSuite(name: string, factory: HarnessFactory): void {
  describe(`exportDatabase: ${name}`, () => {
    const f = useStoreFixture(factory);

    it('gives every acknowledged write as a SQLite file that opens as a store of its own', async () => {
      const store = await f.fresh();
      await store.missions.create({ phase: 'PLANNING', uuid: 'a' });
      await store.toolCalls.record({ mission: 'a', toolName: 'read_file', args: { path: 'x' }, success: true, durationMs: 3 });
      await store.checkpoint();
      // Written after the checkpoint: only in the log, and in the export all the same.
      await store.decisions.record({ mission: 'a', decisionType: 'plan', rationale: 'why <b>not</b>', agentName: 'planner' });
      await store.memory.set('a', 'k', { v: 1 }, { ttlSeconds: 60 });
      const before = await dump(store);

      const bytes = await store.exportDatabase();
      expect(new TextDecoder().decode(bytes.subarray(0, 15))).toBe('SQLite format 3');
      // The store's stamps are cleared: the copy is not this store.
      expect(readIdentity(bytes)).toBeNull();
      expect(readSeq(bytes)).toBe(0);

      const volume = new MemoryVolume();
      volume.snapshot = bytes;
      const copy = await openStore({ adapter: memoryAdapter(volume) });
      try {
        expect(await dump(copy)).toEqual(before);
        expect(await copy.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      } finally {
        await copy.close();
      }
    });

    it('changes nothing in the store: writes, cascades and an open iterator go on', async () => {
      const store = await f.fresh();
      for (const uuid of ['a', 'b', 'c']) await store.missions.create({ phase: 'P', uuid });
      await store.toolCalls.record({ mission: 'b', toolName: 't', args: {}, success: false });
      const rows = store.iterate<{ mission_uuid: string }>('SELECT mission_uuid FROM missions ORDER BY id', [], { batchSize: 1 });
      const first = await rows.next();
      expect(first.value).toEqual({ mission_uuid: 'a' });

      await store.exportDatabase();
      const rest: string[] = [];
      for await (const row of rows) rest.push(row.mission_uuid);
      expect(rest).toEqual(['b', 'c']);
      await store.missions.delete('b');
      // foreign_keys is still on after the export: the delete cascaded.
      expect(await store.query('SELECT COUNT(*) AS n FROM tool_calls')).toEqual([{ n: 0 }]);
      const reopened = await f.closeAndReopen(store);
      expect((await reopened.missions.list()).map((m) => m.uuid)).toEqual(['a', 'c']);
    });

    it('works on a reader: its copy holds what it has caught up on', async () => {
      const volume = new MemoryVolume();
      const writer = await openStore({ adapter: memoryAdapter(volume) });
      const reader = await openStore({ adapter: memoryAdapter(volume), readOnly: true });
      try {
        await writer.missions.create({ phase: 'P', uuid: 'seen' });
        await reader.refresh();
        const copy = new MemoryVolume();
        copy.snapshot = await reader.exportDatabase();
        const opened = await openStore({ adapter: memoryAdapter(copy) });
        expect((await opened.missions.list()).map((m) => m.uuid)).toEqual(['seen']);
        await opened.close();
      } finally {
        await reader.close();
        await writer.close();
      }
    });

    it('rejects with CLOSED on a closed store', async () => {
      const store = await f.fresh();
      await store.close();
      expect((await rejection(store.exportDatabase())).code).toBe('CLOSED');
    });
  });
}
