/**
 * The bytes the previous release wrote, rebuilt from today's: format-1 commit records carry no
 * store identity, and its snapshots leave the SQLite header's reserved bytes zero. Everything
 * else is laid out the same, so a store of the previous release can be made from a current one.
 */

/** Where format 2 puts the identity: after the 4-byte magic and the 1-byte version. */
const IDENTITY_AT = 5;
const IDENTITY_BYTES = 8;
/** Where snapshots carry the identity: the SQLite header's reserved bytes. */
const HEADER_IDENTITY_AT = 72;

/** A format-2 commit record rewritten as the previous release wrote it: version 1, no identity. */
export function asFormat1Record(record: Uint8Array): Uint8Array {
  if (record[4] !== 2) throw new Error(`expected a format-2 record, got version ${record[4]}`);
  const out = new Uint8Array(record.length - IDENTITY_BYTES);
  out.set(record.subarray(0, IDENTITY_AT));
  out.set(record.subarray(IDENTITY_AT + IDENTITY_BYTES), IDENTITY_AT);
  out[4] = 1;
  return out;
}

/** A snapshot as the previous release wrote it: the identity bytes zeroed. */
export function asLegacySnapshot(snapshot: Uint8Array): Uint8Array {
  const out = snapshot.slice();
  out.fill(0, HEADER_IDENTITY_AT, HEADER_IDENTITY_AT + IDENTITY_BYTES);
  return out;
}
