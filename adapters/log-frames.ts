import { crc32 } from './crc32.js';

/** The first bytes of every log file: names the format, so a foreign file is never replayed. */
export const LOG_HEADER = new TextEncoder().encode('AOS-LOG\u0001');
/** The bytes before each record in the log: its length and its CRC-32. */
export const FRAME_HEAD = 8;

/** A record framed for the log: its length, its CRC-32, then its bytes. */
export function frame(record: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEAD + record.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, record.length, true);
  view.setUint32(4, crc32(record), true);
  out.set(record, FRAME_HEAD);
  return out;
}

/** What reading a log found: the intact records, where they end, and any damage after them. */
export interface ParsedLog {
  /** Views into the bytes parsed (they share its memory). */
  readonly records: Uint8Array[];
  /** Byte offset just past the last intact record. */
  readonly end: number;
  /** Null when the log is intact; 'torn' when only an unfinished last append is damaged. */
  readonly damage: null | { readonly kind: 'torn' | 'corrupt'; readonly offset: number; readonly reason: string };
}

/**
 * Splits a log into records. Zeros after the last frame are room the writer made ahead of its
 * appends (see the fs adapter's LOG_ROOM_BYTES), not damage: the log ends there. Damage with no
 * intact frame after it (the last frame cut short, or with a bad checksum, followed by nothing or
 * by zeros) is a torn append that was never acknowledged. Damage with an intact frame after it
 * is corruption of acknowledged data.
 */
export function parseLog(bytes: Uint8Array): ParsedLog {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let at = LOG_HEADER.length;
  // Where the zeros at the end of the log begin: found once, only when a frame looks wrong.
  let zerosFrom = -1;
  const restIsZero = (): boolean => {
    if (zerosFrom < 0) zerosFrom = zeroTailStart(bytes);
    return zerosFrom <= at;
  };
  const damaged = (reason: string): ParsedLog => {
    if (zerosFrom < 0) zerosFrom = zeroTailStart(bytes);
    const torn = !intactFrameAfter(bytes, view, at, zerosFrom);
    return { records, end: at, damage: { kind: torn ? 'torn' : 'corrupt', offset: at, reason } };
  };
  while (at < bytes.length) {
    if (bytes.length - at < FRAME_HEAD) return restIsZero() ? { records, end: at, damage: null } : damaged('a frame header is cut short');
    const length = view.getUint32(at, true);
    const end = at + FRAME_HEAD + length;
    if (length === 0) return restIsZero() ? { records, end: at, damage: null } : damaged('a frame has length 0');
    if (end > bytes.length) return damaged(`a frame of ${length} bytes is cut short`);
    const record = bytes.subarray(at + FRAME_HEAD, end);
    if (crc32(record) !== view.getUint32(at + 4, true)) return damaged(`the checksum of a ${length}-byte frame does not match`);
    // A view, not a copy: the log was read whole for this parse and nothing writes to it, and a
    // copy per record was a tenth of opening a store with a 10,000-record log.
    records.push(record);
    at = end;
  }
  return { records, end: at, damage: null };
}

/**
 * The whole, intact frames at the start of `bytes` (a log read from a frame boundary on), and how
 * many bytes they take; stops at the first frame that is cut short or fails its checksum, which a
 * reader leaves for the writer to finish or repair.
 */
export function readFrames(bytes: Uint8Array): { readonly records: Uint8Array[]; readonly consumed: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (bytes.length - at >= FRAME_HEAD) {
    const length = view.getUint32(at, true);
    const end = at + FRAME_HEAD + length;
    if (length === 0 || end > bytes.length) break;
    const record = bytes.subarray(at + FRAME_HEAD, end);
    if (crc32(record) !== view.getUint32(at + 4, true)) break;
    records.push(record.slice());
    at = end;
  }
  return { records, consumed: at };
}

/**
 * True when an intact frame starts after `from`: the damage at `from` is not confined to the last
 * frame. The last intact frame of a log ends at its end, or inside the zeros after it (a record's
 * own last bytes may be zeros): from `zerosFrom` on. So only a candidate whose length lands there
 * is checksummed, which keeps this linear in the bytes scanned.
 */
function intactFrameAfter(bytes: Uint8Array, view: DataView, from: number, zerosFrom: number): boolean {
  const last = Math.min(zerosFrom, bytes.length - FRAME_HEAD - 1);
  for (let at = from + 1; at <= last; at++) {
    const length = view.getUint32(at, true);
    const end = at + FRAME_HEAD + length;
    if (length === 0 || end < zerosFrom || end > bytes.length) continue;
    if (crc32(bytes.subarray(at + FRAME_HEAD, end)) === view.getUint32(at + 4, true)) return true;
  }
  return false;
}

/** Where the run of zero bytes at the end of `bytes` begins (its length when it ends in a non-zero byte). */
export function zeroTailStart(bytes: Uint8Array): number {
  let at = bytes.length;
  while (at > 0 && bytes[at - 1] === 0) at--;
  return at;
}

/** True when `bytes` starts with the log header. */
export function hasLogHeader(bytes: Uint8Array): boolean {
  return bytes.length >= LOG_HEADER.length && LOG_HEADER.every((b, i) => bytes[i] === b);
}
