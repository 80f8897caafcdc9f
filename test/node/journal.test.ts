import { describe, expect, it } from 'vitest';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import type { ChangeSet } from '../../src/change-capture.js';
import { Journal } from '../../src/journal.js';
import type { PersistenceAdapter } from '../../src/persistence-adapter.js';
import { decodeRecord } from '../../src/record-codec.js';
import { readGeneration, readIdentity } from '../../src/snapshot-header.js';
import { asFormat1Record, asLegacySnapshot } from '../contract/legacy-format.js';

const change: ChangeSet = { tables: [{ table: 't', columns: ['v'], deletes: [], upserts: [[1n, ['x'.repeat(100)]]] }], sequences: [] };
// A minimal valid SQLite header: magic, page size 4096, one page.
function snapshot(pages = 1): Uint8Array {
  const bytes = new Uint8Array(4096 * pages);
  bytes.set(new TextEncoder().encode('SQLite format 3\u0000'));
  const view = new DataView(bytes.buffer);
  view.setUint16(16, 4096);
  view.setUint32(28, pages);
  return bytes;
}

describe('Journal', () => {
  it('numbers records and stamps them with the generation of the snapshot they extend', async () => {
    const volume = new MemoryVolume();
    const journal = new Journal(memoryAdapter(volume));
    await journal.recover();
    await journal.append(change);
    await journal.append(change);
    expect(volume.records.map((r) => [decodeRecord(r).generation, decodeRecord(r).seq])).toEqual([
      [0, 1],
      [0, 2],
    ]);
    await journal.checkpoint(snapshot());
    expect(readGeneration(volume.snapshot)).toBe(1);
    await journal.append(change);
    expect(decodeRecord(volume.records[0]!)).toMatchObject({ generation: 1, seq: 3 });
  });

  it('ignores records older than the snapshot (an interrupted checkpoint) and says so', async () => {
    const volume = new MemoryVolume();
    const journal = new Journal(memoryAdapter(volume));
    await journal.recover();
    await journal.append(change);
    const stale = volume.records.slice();
    await journal.checkpoint(snapshot());
    volume.records = [...stale, ...volume.records];
    volume.breakLock();
    const again = new Journal(memoryAdapter(volume));
    const state = await again.recover();
    expect(state.records).toEqual([]);
    expect(state.warnings.join()).toMatch(/1 log record\(s\).*predate/);
  });

  it('refuses a log with a gap in its numbering as CORRUPT', async () => {
    const volume = new MemoryVolume();
    const journal = new Journal(memoryAdapter(volume));
    await journal.recover();
    for (let i = 0; i < 3; i++) await journal.append(change);
    volume.records.splice(1, 1);
    volume.breakLock();
    await expect(new Journal(memoryAdapter(volume)).recover()).rejects.toMatchObject({
      code: 'CORRUPT',
      message: /skips from record 1 to 3/,
    });
  });

  it('wants a checkpoint once the log outgrows its share of the snapshot, counted afresh on every recover', async () => {
    const volume = new MemoryVolume();
    const journal = new Journal(memoryAdapter(volume), { logRatio: 0.5, minLogBytes: 1000, maxLogBytes: 1e9 });
    await journal.recover();
    await journal.checkpoint(snapshot(1));
    let appended = 0;
    while (!journal.wantsCheckpoint) {
      await journal.append(change);
      appended++;
    }
    // 4096 * 0.5 = 2048 bytes of log, at ~150 bytes a record.
    expect(appended).toBeGreaterThan(8);
    expect(appended).toBeLessThan(20);
    await journal.checkpoint(snapshot(1));
    expect(journal.wantsCheckpoint).toBe(false);
    expect(journal.hasLog).toBe(false);
    // Just under the limit, a recover (as after a failed checkpoint) must not count the log twice.
    for (let i = 1; i < appended; i++) await journal.append(change);
    expect(journal.wantsCheckpoint).toBe(false);
    await journal.recover();
    expect(journal.wantsCheckpoint).toBe(false);
    await journal.append(change);
    expect(journal.wantsCheckpoint).toBe(true);
  });

  it('stamps one identity into every snapshot and record, and keeps it across recovers', async () => {
    const volume = new MemoryVolume();
    const journal = new Journal(memoryAdapter(volume));
    await journal.recover();
    const identity = journal.identity;
    expect(identity).toMatch(/^[0-9a-f]{16}$/);
    await journal.append(change);
    await journal.checkpoint(snapshot());
    await journal.append(change);
    expect(readIdentity(volume.snapshot)).toBe(identity);
    expect(decodeRecord(volume.records[0]!).identity).toBe(identity);
    volume.breakLock();
    const again = new Journal(memoryAdapter(volume));
    const state = await again.recover();
    expect(again.identity).toBe(identity);
    expect(state.records.map((r) => r.seq)).toEqual([2]);
    expect(state.mustCheckpoint).toBe(false);
    // Another store, even with the same snapshot bytes otherwise, has its own.
    const other = new Journal(memoryAdapter(new MemoryVolume()));
    await other.recover();
    expect(other.identity).not.toBe(identity);
  });

  /** Store A's volume at generation 1 with its own record 1, then store B's records (also generation 1) appended. */
  async function mixedVolume(): Promise<{ volume: MemoryVolume; a: string; b: string }> {
    const a = new MemoryVolume();
    const b = new MemoryVolume();
    const ja = new Journal(memoryAdapter(a));
    const jb = new Journal(memoryAdapter(b));
    for (const journal of [ja, jb]) {
      await journal.recover();
      await journal.checkpoint(snapshot());
      await journal.append(change);
    }
    await jb.append(change);
    a.records.push(...b.records);
    a.breakLock();
    return { volume: a, a: ja.identity, b: jb.identity };
  }

  it("refuses another store's records at the same generation as CORRUPT, naming the log and both identities", async () => {
    const { volume, a, b } = await mixedVolume();
    const before = volume.records.slice();
    const error = await new Journal(memoryAdapter(volume)).recover().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'CORRUPT' });
    expect((error as Error).message).toMatch(/^the log at memory belongs to another store: 2 of its 3 record\(s\)/);
    expect((error as Error).message).toContain(`identity ${b}; this store's is ${a}`);
    expect(volume.records).toEqual(before);
  });

  it("lets an adapter set another store's records aside: only this store's are returned, and a checkpoint is due", async () => {
    const { volume, a } = await mixedVolume();
    const reasons: string[] = [];
    const adapter: PersistenceAdapter = {
      ...memoryAdapter(volume),
      async setAsideLog(reason) {
        reasons.push(reason);
        return `set aside: ${reason}`;
      },
    };
    const journal = new Journal(adapter);
    const state = await journal.recover();
    expect(state.records.map((r) => [r.identity, r.seq])).toEqual([[a, 1]]);
    expect(state.warnings).toEqual([`set aside: ${reasons[0]}`]);
    expect(state.mustCheckpoint).toBe(true);
    expect(journal.identity).toBe(a);
  });

  it('without a snapshot, the first record speaks for the store and records of another identity are foreign', async () => {
    const a = new MemoryVolume();
    const b = new MemoryVolume();
    for (const volume of [a, b]) {
      const journal = new Journal(memoryAdapter(volume));
      await journal.recover();
      await journal.append(change);
      await journal.append(change);
    }
    // A's record 1, then B's record 2: numbered as if they followed each other.
    a.records = [a.records[0]!, b.records[1]!];
    a.breakLock();
    await expect(new Journal(memoryAdapter(a)).recover()).rejects.toMatchObject({ code: 'CORRUPT', message: /another store/ });
  });

  it('reads a store of the previous release (no identity anywhere), mints an identity, and wants it checkpointed at once', async () => {
    const volume = new MemoryVolume();
    const journal = new Journal(memoryAdapter(volume));
    await journal.recover();
    await journal.checkpoint(snapshot());
    await journal.append(change);
    await journal.append(change);
    volume.snapshot = asLegacySnapshot(volume.snapshot!);
    volume.records = volume.records.map(asFormat1Record);
    volume.breakLock();
    const again = new Journal(memoryAdapter(volume));
    const state = await again.recover();
    expect(readIdentity(state.snapshot)).toBeNull();
    expect(state.records.map((r) => [r.identity, r.seq])).toEqual([
      [null, 1],
      [null, 2],
    ]);
    expect(state.mustCheckpoint).toBe(true);
    expect(again.identity).not.toBe(journal.identity);
    await again.checkpoint(state.snapshot!.slice());
    expect(readIdentity(volume.snapshot)).toBe(again.identity);
  });

  it('takes format-1 records of an older generation beside a stamped snapshot as stale (an interrupted upgrade), not foreign', async () => {
    const volume = new MemoryVolume();
    const journal = new Journal(memoryAdapter(volume));
    await journal.recover();
    await journal.checkpoint(snapshot());
    await journal.append(change);
    const legacyLog = volume.records.map(asFormat1Record);
    // The upgrade checkpoint replaced the snapshot but died before it emptied the log.
    await journal.checkpoint(snapshot());
    await journal.append(change);
    const sameGeneration = volume.records.map(asFormat1Record);
    volume.records = legacyLog;
    volume.breakLock();
    const state = await new Journal(memoryAdapter(volume)).recover();
    expect(state.records).toEqual([]);
    expect(state.warnings.join()).toMatch(/1 log record\(s\).*predate/);
    // At the snapshot's own generation, a record without identity cannot be this store's.
    volume.records = sameGeneration;
    volume.breakLock();
    await expect(new Journal(memoryAdapter(volume)).recover()).rejects.toMatchObject({ code: 'CORRUPT', message: /another store/ });
  });
});
