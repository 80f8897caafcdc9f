import { StoreError } from './errors.js';
import { IDENTITY_BYTES, identityFromBytes, identityToBytes, type StoreIdentity } from './store-identity.js';

const MAGIC = 'SQLite format 3\u0000';
const HEADER_BYTES = 100;
/**
 * Where the store identity sits: the first 8 of the header's 20 bytes "reserved for expansion"
 * (offsets 72..91). SQLite neither reads nor checks them: sql.js and the sqlite3 CLI open such a
 * file, `PRAGMA integrity_check` says ok, and writes keep them. VACUUM zeroes them, which is why
 * the identity is stamped into the exported bytes at every checkpoint rather than kept in the
 * database.
 */
const IDENTITY_AT = 72;

/**
 * The checkpoint generation stamped in a snapshot. It lives in the SQLite header's
 * file-change-counter (offset 24), which SQLite itself never advances for an in-memory
 * sql.js database; the log records the generation it extends, so a log left over from an
 * interrupted checkpoint is recognised without hashing the whole snapshot.
 */
export function readGeneration(snapshot: Uint8Array | null): number {
  if (!snapshot) return 0;
  return new DataView(snapshot.buffer, snapshot.byteOffset, HEADER_BYTES).getUint32(24);
}

/** Stamps `generation` into a snapshot's header, keeping the header self-consistent. */
export function writeGeneration(snapshot: Uint8Array, generation: number): void {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, HEADER_BYTES);
  view.setUint32(24, generation >>> 0);
  // "version-valid-for" must equal the change counter, or SQLite ignores the in-header page count.
  view.setUint32(92, generation >>> 0);
}

/** The store identity stamped in a snapshot; null for no snapshot, or one written before identities existed. */
export function readIdentity(snapshot: Uint8Array | null): StoreIdentity | null {
  if (!snapshot) return null;
  return identityFromBytes(snapshot.subarray(IDENTITY_AT, IDENTITY_AT + IDENTITY_BYTES));
}

/** Stamps the store identity into a snapshot's header. */
export function writeIdentity(snapshot: Uint8Array, identity: StoreIdentity): void {
  snapshot.set(identityToBytes(identity), IDENTITY_AT);
}

// The last commit sequence number the snapshot holds: the next 8 reserved bytes (80..87), as
// two big-endian 32-bit halves. Zero in snapshots written before it was stamped.
const SEQ_AT = 80;

/** The number of the last commit a snapshot holds (0 when none was stamped), so commit numbers outlive checkpoints. */
export function readSeq(snapshot: Uint8Array | null): number {
  if (!snapshot) return 0;
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, HEADER_BYTES);
  return view.getUint32(SEQ_AT) * 2 ** 32 + view.getUint32(SEQ_AT + 4);
}

/** Stamps the number of the last commit a snapshot holds into its header. */
export function writeSeq(snapshot: Uint8Array, seq: number): void {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, HEADER_BYTES);
  view.setUint32(SEQ_AT, Math.floor(seq / 2 ** 32));
  view.setUint32(SEQ_AT + 4, seq >>> 0);
}

/** Throws StoreError CORRUPT unless `snapshot` is a whole SQLite database file. */
export function checkSnapshot(snapshot: Uint8Array, where: string): void {
  if (snapshot.length < HEADER_BYTES) {
    throw new StoreError('CORRUPT', `${where} is not an SQLite database (${snapshot.length} bytes)`);
  }
  const magic = String.fromCharCode(...snapshot.subarray(0, 16));
  if (magic !== MAGIC) throw new StoreError('CORRUPT', `${where} is not an SQLite database (bad header)`);
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, HEADER_BYTES);
  const rawPageSize = view.getUint16(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = view.getUint32(28);
  const headerPagesValid = view.getUint32(24) === view.getUint32(92) && pages > 0;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw new StoreError('CORRUPT', `${where} has an invalid page size ${pageSize}`);
  }
  if (snapshot.length % pageSize !== 0 || (headerPagesValid && snapshot.length < pages * pageSize)) {
    throw new StoreError(
      'CORRUPT',
      `${where} is truncated: ${snapshot.length} bytes, expected ${headerPagesValid ? pages * pageSize : 'a whole number of'} ${pageSize}-byte pages`,
    );
  }
}

/**
 * Zeroes what the store stamps into the header's reserved bytes (identity, commit number): a copy
 * handed out of the store is a database of its own, and one opened as a store gets a new identity.
 */
export function clearStamps(snapshot: Uint8Array): void {
  snapshot.fill(0, IDENTITY_AT, SEQ_AT + 8);
}
