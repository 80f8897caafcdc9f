import { describe, expect, it } from 'vitest';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import type { ChangeSet } from '../../src/change-capture.js';
import { Journal } from '../../src/journal.js';
import { decodeRecord } from '../../src/record-codec.js';
import { readGeneration } from '../../src/snapshot-header.js';

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
});
