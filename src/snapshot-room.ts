/** SQLite's file header: where the page size, the page count and its validity stamp sit. */
const PAGE_SIZE_AT = 16;
const CHANGE_COUNTER_AT = 24;
const PAGE_COUNT_AT = 28;
const VALID_FOR_AT = 92;
const HEADER_BYTES = 100;

/**
 * How much room to give a snapshot before replaying `logBytes` of log on it: a replayed row takes
 * about as many bytes in the database as in its record (1.01× for the bench's tool calls, indexes
 * included); twice that covers rows with more indexes, and room never written costs no memory.
 */
export function replayRoom(logBytes: number): number {
  return logBytes * 2;
}

/**
 * The room to open a snapshot of `snapshotBytes` with, before replaying `logBytes` of log: the
 * replay's (see replayRoom) plus a quarter of the database for the writes of the session. sql.js
 * grows its file by copying all of it into an array 12.5% larger, synchronously, whenever a
 * commit writes past its end: measured, the first write after opening a 300 MB store held the
 * thread 0.3 s, and at 1 GB each growth takes about a second. Room never written costs no memory.
 *
 * @example
 * const db = new SQL.Database(withRoom(snapshot, openRoom(snapshot.length, logBytes)));
 */
export function openRoom(snapshotBytes: number, logBytes: number): number {
  return replayRoom(logBytes) + Math.ceil(snapshotBytes / 4);
}

/** 4 GiB less a page of the largest size: the longest array withRoom asks for in a replica. */
const LONGEST_ARRAY = 2 ** 32 - 65536;

/**
 * The room a checkpoint replica opens a snapshot of `snapshotBytes` with, before replaying
 * `logBytes`: as much again as the database (short of 4 GiB in all), at least openRoom's. The replica reads its chunks
 * from the memory sql.js keeps its file in (see liveFile) for as long as the file fits there; once
 * it outgrows it, the replica exports and reopens once, briefly holding the database two more
 * times. Room never written costs no memory (measured in Chromium: two zeroed 1.5 GB arrays added
 * ~10 MB to the tab), so a lot of it is free, and the reopen comes only when the database doubles.
 *
 * @example
 * new SQL.Database(withRoom(snapshot, replicaRoom(snapshot.length, logBytes)));
 */
export function replicaRoom(snapshotBytes: number, logBytes: number): number {
  // Capped below the longest typed array V8 makes in Node 20 (4 GiB), past which withRoom would
  // give no room at all: a store of more than 2 GiB gets openRoom's quarter, as before.
  const free = Math.min(snapshotBytes, LONGEST_ARRAY - snapshotBytes);
  return Math.max(openRoom(snapshotBytes, logBytes), free);
}

// Buffers made by snapshotBuffer and not yet opened: the store's own, zero past the snapshot.
const spare = new WeakSet<ArrayBufferLike>();

/**
 * A zeroed Uint8Array of `size` bytes to read a snapshot into, in a buffer with `room` more zero
 * bytes after it, which withRoom then uses in place: no copy of the snapshot at all. For adapters
 * that read the snapshot fresh at every load (the fs adapter).
 *
 * @example
 * const snapshot = snapshotBuffer(size, replayRoom(logBytes));
 */
export function snapshotBuffer(size: number, room: number): Uint8Array {
  if (room > 0) {
    try {
      const buffer = new ArrayBuffer(size + room);
      spare.add(buffer);
      return new Uint8Array(buffer, 0, size);
    } catch {
      // Past the largest buffer this runtime makes: without room, as before.
    }
  }
  return new Uint8Array(size);
}

/**
 * A copy of `snapshot` in a buffer of its own with `room` zero bytes after it, as a view of the
 * snapshot's length: what a checkpoint replica's worker is sent (moved), so that it opens the
 * database in place (adoptRoom, then withRoom) instead of copying it once more. Only the
 * snapshot's bytes are written; the room costs nothing until used. A plain copy past the longest
 * array this runtime makes.
 *
 * Why: the copy a worker was sent before was a structured clone of the page's own buffer (the
 * snapshot and its room, every byte of it written), which the worker then copied into room of
 * its own: three copies of the database at an open, where two are needed.
 *
 * @example
 * const copy = copyWithRoom(snapshot, replicaRoom(snapshot.length, logBytes));
 * port.post({ kind: 'open', snapshot: copy, records, roomAfter: true }, [copy.buffer]);
 */
export function copyWithRoom(snapshot: Uint8Array, room: number): Uint8Array {
  try {
    const copy = new Uint8Array(new ArrayBuffer(snapshot.length + Math.max(0, room)), 0, snapshot.length);
    copy.set(snapshot);
    spare.add(copy.buffer);
    return copy;
  } catch {
    return snapshot.slice();
  }
}

/** True when the bytes after `snapshot` in its buffer are zero room nobody uses yet (snapshotBuffer, copyWithRoom). */
export function hasSpareRoom(snapshot: Uint8Array): boolean {
  const buffer = snapshot.buffer;
  return spare.has(buffer) && snapshot.byteOffset === 0 && buffer.byteLength > snapshot.length;
}

/**
 * Takes the bytes after `snapshot` in its buffer as room that withRoom may use in place: for a
 * snapshot moved from another thread whose sender made them zero (copyWithRoom). Only a view at
 * the start of its buffer qualifies.
 */
export function adoptRoom(snapshot: Uint8Array): void {
  const buffer = snapshot.buffer;
  if (buffer instanceof ArrayBuffer && snapshot.byteOffset === 0 && buffer.byteLength > snapshot.length) spare.add(buffer);
}

/**
 * The bytes to open `snapshot` from when a replay is about to grow it by about `room` bytes: the
 * snapshot followed by that many zero bytes (rounded up to whole pages), handed to sql.js without a
 * copy. Made in place when `snapshot` came from snapshotBuffer with room, else by one copy; returns
 * `snapshot` itself when its header does not give its page count.
 *
 * Why: sql.js keeps the database in one array of its in-memory file system, copied from the bytes
 * it is given, and grows it by 12.5% at a time, copying all of it at each step; a 10,000-record
 * replay on a 50 MB store paid for three such copies (~200 ms here, most of it the first touch of
 * fresh memory), and a raw open for none. Room made once, in a fresh array whose untouched zero
 * pages cost no memory until written, leaves the replay's commit only its page writes.
 *
 * The database is unchanged: SQLite reads its size from the header (page count, valid when the
 * version-valid-for number equals the change counter, as in every file SQLite 3.7+ writes), never
 * from the file, so the zeros past it are no pages of it; `PRAGMA page_count`, `export()` and
 * `integrity_check` see exactly the database.
 *
 * @example
 * const db = new SQL.Database(withRoom(snapshot, replayRoom(logBytes)));
 */
export function withRoom(snapshot: Uint8Array, room: number): Uint8Array {
  if (room <= 0 || snapshot.length < HEADER_BYTES) return snapshot;
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, HEADER_BYTES);
  const rawPageSize = view.getUint16(PAGE_SIZE_AT);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = view.getUint32(PAGE_COUNT_AT);
  const sizeInHeader = view.getUint32(CHANGE_COUNTER_AT) === view.getUint32(VALID_FOR_AT) && pages > 0;
  // Without a valid page count SQLite would take the zeros for pages of the database.
  if (!sizeInHeader || pages * pageSize !== snapshot.length) return snapshot;
  const wanted = Math.ceil(room / pageSize) * pageSize;
  let bytes: Uint8Array;
  const buffer = snapshot.buffer;
  const inPlace = spare.has(buffer) && snapshot.byteOffset === 0 ? buffer.byteLength - snapshot.length : 0;
  if (inPlace >= pageSize) {
    // Once only: from now on these bytes are the database's.
    spare.delete(buffer);
    bytes = new Uint8Array(buffer, 0, snapshot.length + Math.min(wanted, inPlace - (inPlace % pageSize)));
  } else {
    try {
      bytes = new Uint8Array(snapshot.length + wanted);
    } catch {
      // Past the largest array this runtime makes: open as before, and let sql.js grow the file.
      return snapshot;
    }
    bytes.set(snapshot);
  }
  // sql.js's file system stores what it is given with `slice()`, a copy of every byte (zeros
  // included); these bytes are fresh and no one else holds them, so a view is enough. Were that
  // to change in sql.js, it would copy, as before: slower, not wrong.
  Object.defineProperty(bytes, 'slice', { value: (start?: number, end?: number) => bytes.subarray(start, end) });
  handedOver.add(bytes);
  return bytes;
}

// What withRoom handed to sql.js as it is: the memory of the database's in-memory file.
const handedOver = new WeakSet<Uint8Array>();

/**
 * The database file as sql.js holds it now, without a copy, when the database was opened from
 * `opened` (bytes from withRoom with room) and its file still lives in that memory: sql.js writes
 * every commit there until a commit outgrows it, then moves the file to a larger array of its own
 * and `opened` keeps the database as it was. Null when `opened` was not handed over, or the file
 * moved (a database larger than `opened`, or a header in it that no longer matches).
 *
 * Why: an export copies the whole database into a fresh array, and freeing such an array (100 MB
 * and more) held up every thread of a Chromium page for tens of milliseconds, whichever thread
 * freed it (measured: a worker allocating, filling and dropping 300–500 MB every second gave the
 * page stalls of 100–230 ms; the same worker reusing one array, none over 53 ms). A replica
 * reads its chunks from here instead.
 *
 * @example
 * const file = liveFile(opened, conn.pragma('page_count'), conn.pragma('page_size'));
 */
export function liveFile(opened: Uint8Array, pageCount: number, pageSize: number): Uint8Array | null {
  const size = pageCount * pageSize;
  if (!handedOver.has(opened) || size < HEADER_BYTES || size > opened.length) return null;
  const view = new DataView(opened.buffer, opened.byteOffset, HEADER_BYTES);
  // SQLite writes the page count and its stamp into page 1 at every commit that changes the size;
  // an array sql.js left behind keeps the older ones.
  const stamped = view.getUint32(CHANGE_COUNTER_AT) === view.getUint32(VALID_FOR_AT);
  if (!stamped || view.getUint32(PAGE_COUNT_AT) !== pageCount) return null;
  const rawPageSize = view.getUint16(PAGE_SIZE_AT);
  if ((rawPageSize === 1 ? 65536 : rawPageSize) !== pageSize) return null;
  return opened.subarray(0, size);
}
