import { describe, expect, it } from 'vitest';
import { changedChunks, chunkCount, chunkOf, decodeManifest, encodeManifest, hashChunks } from '../../adapters/snapshot-chunks.js';
import { isStoreError } from '../../src/index.js';

const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 255);

describe('snapshot chunks', () => {
  it('hashes each chunk, and a change in one byte changes exactly its chunk', async () => {
    const before = bytes(10_000, 1);
    const after = before.slice();
    after[4_500] = after[4_500]! ^ 1;
    const a = await hashChunks(before, 1024);
    const b = await hashChunks(after, 1024);
    expect(a).toHaveLength(chunkCount(10_000, 1024));
    expect(changedChunks(b, a)).toEqual([4]);
    expect(changedChunks(b, null)).toHaveLength(10);
    // A longer snapshot: its new chunks count as changed; the last, partial one too.
    const longer = new Uint8Array(12_000);
    longer.set(before);
    expect(changedChunks(await hashChunks(longer, 1024), a)).toEqual([9, 10, 11]);
  });

  it('cuts chunks as copies that hold just their bytes', () => {
    const snapshot = bytes(2500, 7);
    const last = chunkOf(snapshot, 2, 1024);
    expect(last).toEqual(snapshot.subarray(2048));
    expect(last.buffer.byteLength).toBe(452);
  });

  it('round-trips a manifest, and refuses damaged ones with CORRUPT', async () => {
    const hashes = await hashChunks(bytes(5000, 3), 2048);
    const manifest = { length: 5000, chunkBytes: 2048, hashes };
    const encoded = encodeManifest(manifest);
    expect(decodeManifest(encoded, 'db')).toEqual(manifest);
    const damaged = [
      encoded.subarray(0, 10),
      encoded.subarray(0, encoded.length - 1),
      Uint8Array.from(encoded, (b, i) => (i === 0 ? 0 : b)),
      Uint8Array.from(encoded, (b, i) => (i === 23 ? b + 1 : b)),
    ];
    for (const bad of damaged) {
      let error: unknown;
      try {
        decodeManifest(bad, 'db');
      } catch (e) {
        error = e;
      }
      expect(isStoreError(error, 'CORRUPT'), String(error)).toBe(true);
    }
  });
});
