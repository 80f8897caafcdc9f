/**
 * The bytes earlier releases wrote, rebuilt from today's: format-2 commit records carry no row ops
 * (format 3's trailer), format-1 records no store identity either, and snapshots of the release
 * before identities leave the SQLite header's reserved bytes zero. Everything else is laid out the
 * same, so a store of an earlier release can be made from a current one.
 */

import { decodeRecord } from '../../src/record-codec.js';

/** Where format 2 puts the identity: after the 4-byte magic and the 1-byte version. */
const IDENTITY_AT = 5;
const IDENTITY_BYTES = 8;
/** Where snapshots carry the identity: the SQLite header's reserved bytes. */
const HEADER_IDENTITY_AT = 72;
/** The last commit number, just after the identity. */
const HEADER_SEQ_BYTES = 8;

/** A format-3 commit record without its trailer of row ops: the format-2 record of the same changes. */
export function asFormat2Record(record: Uint8Array): Uint8Array {
  if (record[4] !== 3) throw new Error(`expected a format-3 record, got version ${record[4]}`);
  const ops = decodeRecord(record).changes.tables.reduce((n, table) => n + table.upserts.length, 0);
  const out = record.slice(0, record.length - ops);
  out[4] = 2;
  return out;
}

/** A current commit record rewritten as the release before identities wrote it: version 1, no identity, no ops. */
export function asFormat1Record(record: Uint8Array): Uint8Array {
  const format2 = asFormat2Record(record);
  const out = new Uint8Array(format2.length - IDENTITY_BYTES);
  out.set(format2.subarray(0, IDENTITY_AT));
  out.set(format2.subarray(IDENTITY_AT + IDENTITY_BYTES), IDENTITY_AT);
  out[4] = 1;
  return out;
}

/** A snapshot as the release before identities wrote it: the identity and commit-number bytes zeroed. */
export function asLegacySnapshot(snapshot: Uint8Array): Uint8Array {
  const out = snapshot.slice();
  out.fill(0, HEADER_IDENTITY_AT, HEADER_IDENTITY_AT + IDENTITY_BYTES + HEADER_SEQ_BYTES);
  return out;
}
