import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, changedChunks, HASH_PIECE_BYTES, hashChunks } from '../../adapters/snapshot-chunks.js';

// Chunks are hashed a piece per task (WebCrypto digests on the page's thread): the hash of a chunk
// larger than a piece is the hash of its pieces' hashes, and still changes with any byte.
const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 255);

describe('snapshot chunk hashes in pieces', () => {
  it('a chunk larger than a piece hashes through its pieces: one changed byte in any piece changes it', async () => {
    const before = bytes(4096, 5);
    const whole = await hashChunks(before, 4096, 1024);
    expect(whole).toHaveLength(1);
    expect(whole[0]).not.toEqual((await hashChunks(before, 4096))[0]);
    for (const at of [0, 1500, 4095]) {
      const after = before.slice();
      after[at] = after[at]! ^ 1;
      expect(changedChunks(await hashChunks(after, 4096, 1024), whole)).toEqual([0]);
    }
    expect(changedChunks(await hashChunks(before.slice(), 4096, 1024), whole)).toEqual([]);
  });

  it('a chunk of four pieces (a store written with 4 MiB chunks) is hashed one WebCrypto digest per piece, and one of their hashes', async () => {
    const chunkBytes = 4 * HASH_PIECE_BYTES;
    const calls: number[] = [];
    const subtle = crypto.subtle;
    const digest = subtle.digest.bind(subtle);
    const spy = (algorithm: AlgorithmIdentifier, data: BufferSource) => {
      calls.push(data.byteLength);
      return digest(algorithm, data);
    };
    Object.defineProperty(subtle, 'digest', { value: spy, configurable: true });
    try {
      await hashChunks(new Uint8Array(chunkBytes + 100), chunkBytes);
    } finally {
      Reflect.deleteProperty(subtle, 'digest');
    }
    expect(calls).toEqual([HASH_PIECE_BYTES, HASH_PIECE_BYTES, HASH_PIECE_BYTES, HASH_PIECE_BYTES, 4 * 32, 100]);
  });

  it("today's chunks are one piece each: one digest per chunk, no task longer than one piece's", () => {
    expect(CHUNK_BYTES).toBeLessThanOrEqual(HASH_PIECE_BYTES);
  });
});
