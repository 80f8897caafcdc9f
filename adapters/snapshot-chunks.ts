import { StoreError } from '../src/errors.js';
import type { SnapshotChunks, SnapshotHints } from '../src/persistence-adapter.js';

/**
 * Bytes per snapshot chunk. Chromium refuses single IndexedDB values from about 128 MB, so the
 * snapshot cannot be one value; a checkpoint rewrites only the chunks holding the pages SQLite
 * touched. 1 MiB: each chunk written ahead of a checkpoint is a transaction that the log's appends
 * queue behind, and with 4 MiB ones the write p99 during checkpoints at 100 MB was 24 ms (8×
 * p50), with 1 MiB 12-14 ms; a checkpoint also writes less (7 MiB instead of 20 after 1,000
 * calls). A 1 GB store is then 1,024 values and a 32 KiB manifest (see docs/big-stores.md).
 * Stores written with another chunk size keep it until their next checkpoint (the manifest says it).
 */
export const CHUNK_BYTES = 1 << 20;

/** What the manifest says of a chunked snapshot: its length, chunk size and one hash per chunk. */
export interface ChunkManifest {
  readonly length: number;
  readonly chunkBytes: number;
  /** SHA-256 of each chunk, in order. */
  readonly hashes: readonly Uint8Array[];
}

const MAGIC = [0x41, 0x4f, 0x53, 0x4d]; // "AOSM"
const VERSION = 1;
const HASH_BYTES = 32;
const HEADER_BYTES = 4 + 4 + 8 + 4 + 4;

/** How many chunks of `chunkBytes` hold `length` bytes. */
export function chunkCount(length: number, chunkBytes: number): number {
  return Math.ceil(length / chunkBytes);
}

/** The bytes of chunk `index` of `snapshot`, copied (a view's structured clone would carry its whole buffer). */
export function chunkOf(snapshot: Uint8Array, index: number, chunkBytes: number): Uint8Array {
  return snapshot.slice(index * chunkBytes, Math.min(snapshot.length, (index + 1) * chunkBytes));
}

/**
 * Bytes digested per task. Chromium's WebCrypto digests on the page's thread: a 4 MiB digest is
 * one task of ~22 ms on a quiet machine and was seen at 55–90 ms on a loaded one, long enough to
 * hold up writes; 1 MiB pieces keep each task a quarter of that.
 */
export const HASH_PIECE_BYTES = 1 << 20;

/**
 * The hash of each chunk of `snapshot`, yielding to the event loop after each digest: SHA-256 of
 * the chunk when it is at most `pieceBytes`, else SHA-256 of the SHA-256s of its `pieceBytes`
 * pieces (a change in any byte still changes it). Chromium's WebCrypto blocks the page while it
 * digests (measured here: 160 MB, only awaiting the digests, froze the page ~700 ms in one
 * stretch; a chunk per task, 22 ms at most at a time).
 *
 * @example
 * const hashes = await hashChunks(db.export(), CHUNK_BYTES);
 */
export async function hashChunks(snapshot: Uint8Array, chunkBytes: number, pieceBytes = HASH_PIECE_BYTES): Promise<Uint8Array[]> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new StoreError('IO', 'cannot hash snapshot chunks: WebCrypto (crypto.subtle) is unavailable here');
  // (An export's bytes are never shared memory; WebCrypto's types want that said.)
  const digest = async (from: number, to: number): Promise<Uint8Array> => {
    const hash = new Uint8Array(await subtle.digest('SHA-256', snapshot.subarray(from, to) as Uint8Array<ArrayBuffer>));
    await yieldToEventLoop();
    return hash;
  };
  const hashes: Uint8Array[] = [];
  const count = chunkCount(snapshot.length, chunkBytes);
  for (let i = 0; i < count; i++) {
    const start = i * chunkBytes;
    const end = Math.min(snapshot.length, start + chunkBytes);
    if (end - start <= pieceBytes) {
      hashes.push(await digest(start, end));
      continue;
    }
    const pieces = new Uint8Array(Math.ceil((end - start) / pieceBytes) * HASH_BYTES);
    for (let at = start, k = 0; at < end; at += pieceBytes, k++)
      pieces.set(await digest(at, Math.min(end, at + pieceBytes)), k * HASH_BYTES);
    hashes.push(new Uint8Array(await subtle.digest('SHA-256', pieces)));
  }
  return hashes;
}

/** A snapshot to write in CHUNK_BYTES chunks: whole bytes, or the chunks a replica sent. */
export interface ChunkSource {
  readonly length: number;
  /** True when chunk `index` can be had: always for whole bytes, only the chunks sent otherwise. */
  has(index: number): boolean;
  /** The chunks a replica's worker wrote ahead itself under their hashes (see `SnapshotChunks.written`). */
  readonly written: ReadonlySet<number>;
  /** The bytes of chunk `index`, in a buffer of their own (StoreError IO when it was not sent). */
  chunk(index: number): Uint8Array;
}

/**
 * `snapshot` as chunks to write. Chunks a replica sent must be of this layout's size, one hash per
 * chunk, chunk 0 among them and each of its chunk's length; else INVALID_INPUT, naming `where`.
 *
 * @example
 * const source = chunkSource(snapshot, this.location); // in prepareCheckpoint
 */
export function chunkSource(snapshot: Uint8Array | SnapshotChunks, where: string): ChunkSource {
  if (snapshot instanceof Uint8Array) {
    return { length: snapshot.length, has: () => true, written: new Set(), chunk: (index) => chunkOf(snapshot, index, CHUNK_BYTES) };
  }
  const { length, hashes, chunks } = snapshot;
  const count = chunkCount(length, CHUNK_BYTES);
  const lengthOf = (index: number) => Math.min(CHUNK_BYTES, length - index * CHUNK_BYTES);
  const bad = (why: string) => new StoreError('INVALID_INPUT', `the snapshot chunks for ${where} do not fit: ${why}`);
  if (!Number.isSafeInteger(length) || length <= 0) throw bad(`a length of ${length}`);
  if (
    hashes.chunkBytes !== CHUNK_BYTES ||
    hashes.hashes.length !== count ||
    !hashes.hashes.every((h) => h instanceof Uint8Array && h.length === HASH_BYTES)
  ) {
    throw bad(`${hashes.hashes.length} hash(es) of ${hashes.chunkBytes}-byte chunks for ${count} of ${CHUNK_BYTES}`);
  }
  if (!chunks.has(0)) throw bad('chunk 0, which holds the file header, is missing');
  for (const [index, bytes] of chunks) {
    if (!Number.isInteger(index) || index < 0 || index >= count || !(bytes instanceof Uint8Array) || bytes.length !== lengthOf(index)) {
      throw bad(`chunk ${index} is not chunk ${index} of ${count}`);
    }
  }
  const written = new Set(snapshot.written ?? []);
  for (const index of written) {
    if (!Number.isInteger(index) || index < 1 || index >= count || chunks.has(index))
      throw bad(`chunk ${index} cannot have been written ahead`);
  }
  return {
    length,
    has: (index) => chunks.has(index),
    written,
    chunk: (index) => {
      const bytes = chunks.get(index);
      if (!bytes) {
        throw new StoreError(
          'IO',
          `the replica did not send chunk ${index} of the snapshot for ${where}: it was asked against a manifest that has changed since`,
        );
      }
      // A view's structured clone would carry its whole buffer.
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    },
  };
}

/**
 * The hash of each CHUNK_BYTES chunk of `snapshot`: taken from `hints` (or from the chunks a
 * replica sent) when a replica worked them out in its worker for this layout, with the first
 * chunk's digested again (the store stamped the header after the export); else every chunk
 * digested here, a task each.
 *
 * @example
 * const hashes = await chunkHashesOf(snapshot, hints); // in prepareCheckpoint
 */
export async function chunkHashesOf(snapshot: Uint8Array | SnapshotChunks, hints?: SnapshotHints): Promise<Uint8Array[]> {
  if (!(snapshot instanceof Uint8Array)) {
    // chunkSource checked the layout; the first chunk is there, stamped.
    const [first] = await hashChunks(snapshot.chunks.get(0)!, CHUNK_BYTES);
    return [first!, ...snapshot.hashes.hashes.slice(1)];
  }
  const given = hints?.chunkHashes;
  const count = chunkCount(snapshot.length, CHUNK_BYTES);
  const usable =
    given !== undefined &&
    given.chunkBytes === CHUNK_BYTES &&
    count > 0 &&
    given.hashes.length === count &&
    given.hashes.every((hash) => hash instanceof Uint8Array && hash.length === HASH_BYTES);
  if (!usable) return hashChunks(snapshot, CHUNK_BYTES);
  const [first] = await hashChunks(snapshot.subarray(0, Math.min(snapshot.length, CHUNK_BYTES)), CHUNK_BYTES);
  return [first!, ...given.hashes.slice(1)];
}

/**
 * Ends the current task so that everything queued runs (input, rendering, timers, I/O callbacks):
 * a message to self, which browsers do not clamp as they clamp nested zero timeouts to 4 ms (and
 * unlike `scheduler.yield()`, whose continuation goes ahead of timers); a zero timeout elsewhere.
 */
function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      // Closed at once: an open port would keep a Node process alive.
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
    channel.port2.close();
  });
}

/** The indexes of the chunks in `next` whose hash differs from (or is missing in) `previous`; all of them when `previous` is null. */
export function changedChunks(next: readonly Uint8Array[], previous: readonly Uint8Array[] | null): number[] {
  const changed: number[] = [];
  for (let i = 0; i < next.length; i++) {
    const before = previous?.[i];
    if (!before || !sameBytes(before, next[i]!)) changed.push(i);
  }
  return changed;
}

/** The manifest as bytes: "AOSM", version, length, chunk size, count, then the hashes. */
export function encodeManifest(manifest: ChunkManifest): Uint8Array {
  const count = manifest.hashes.length;
  const bytes = new Uint8Array(HEADER_BYTES + count * HASH_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(4, VERSION);
  view.setFloat64(8, manifest.length);
  view.setUint32(16, manifest.chunkBytes);
  view.setUint32(20, count);
  for (const [i, hash] of manifest.hashes.entries()) bytes.set(hash, HEADER_BYTES + i * HASH_BYTES);
  return bytes;
}

/** Reads a manifest; CORRUPT, naming `where`, when the bytes are not one. */
export function decodeManifest(bytes: Uint8Array, where: string): ChunkManifest {
  const bad = (why: string) => new StoreError('CORRUPT', `the snapshot manifest of ${where} is damaged: ${why}`);
  if (bytes.length < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('no manifest header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4);
  if (version !== VERSION) throw bad(`version ${version} is not one this version of agent-ops-store reads`);
  const length = view.getFloat64(8);
  const chunkBytes = view.getUint32(16);
  const count = view.getUint32(20);
  if (!Number.isSafeInteger(length) || length < 0 || chunkBytes === 0 || count !== chunkCount(length, chunkBytes)) {
    throw bad(`${count} chunk(s) of ${chunkBytes} bytes cannot hold ${length} bytes`);
  }
  if (bytes.length !== HEADER_BYTES + count * HASH_BYTES) throw bad('its hash list is cut short');
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < count; i++) hashes.push(bytes.slice(HEADER_BYTES + i * HASH_BYTES, HEADER_BYTES + (i + 1) * HASH_BYTES));
  return { length, chunkBytes, hashes };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
