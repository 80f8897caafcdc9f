import type { FileHandle } from 'node:fs/promises';
import { snapshotBuffer } from '../src/snapshot-room.js';

/** Bytes per read: large enough to stream at disk speed, small enough to keep each call short. */
const SLICE_BYTES = 64 << 20;

/**
 * Reads all of an open file into one Uint8Array, slice by slice. `fs.readFile` and
 * `FileHandle.readFile` refuse files past 2 GiB (a Buffer limit of their own), while a Uint8Array
 * in Node 20 holds up to 4 GiB, and sql.js holds the database in one. With `room`, the bytes come
 * with that many zero bytes after them for a replay to grow the database into (see snapshotBuffer).
 *
 * @example
 * const bytes = await readWhole(await open(path, 'r'));
 */
export async function readWhole(handle: FileHandle, room: number | ((size: number) => number) = 0): Promise<Uint8Array> {
  const { size } = await handle.stat();
  const bytes = snapshotBuffer(size, typeof room === 'function' ? room(size) : room);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(bytes, at, Math.min(SLICE_BYTES, size - at), at);
    // The file shrank while it was read (only a reader beside a writer can see that): keep what is there.
    if (bytesRead === 0) return bytes.subarray(0, at);
    at += bytesRead;
  }
  return bytes;
}
