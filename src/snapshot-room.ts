/** SQLite's file header: where the page size, the page count and its validity stamp sit. */
const PAGE_SIZE_AT = 16;
const CHANGE_COUNTER_AT = 24;
const PAGE_COUNT_AT = 28;
const VALID_FOR_AT = 92;
const HEADER_BYTES = 100;

/**
 * The bytes to open `snapshot` from when a replay is about to grow it by about `room` bytes: the
 * snapshot followed by that many zero bytes (rounded up to whole pages), handed to sql.js without a
 * copy. Returns `snapshot` itself when its header does not give its page count.
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
 * const db = new SQL.Database(withRoom(snapshot, logBytes * 2));
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
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(snapshot.length + Math.ceil(room / pageSize) * pageSize);
  } catch {
    // Past the largest array this runtime makes: open as before, and let sql.js grow the file.
    return snapshot;
  }
  bytes.set(snapshot);
  // sql.js's file system stores what it is given with `slice()`, a copy of every byte (zeros
  // included); these bytes are fresh and no one else holds them, so a view is enough. Were that
  // to change in sql.js, it would copy, as before: slower, not wrong.
  Object.defineProperty(bytes, 'slice', { value: (start?: number, end?: number) => bytes.subarray(start, end) });
  return bytes;
}
