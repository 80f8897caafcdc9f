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
 * Splits a log into records. Damage confined to the last frame (cut short, or with a bad
 * checksum and nothing after it, or followed only by zeros) is a torn append that was never
 * acknowledged. Damage with intact-looking bytes after it is corruption of acknowledged data.
 */
export function parseLog(bytes: Uint8Array): ParsedLog {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let at = LOG_HEADER.length;
  const damaged = (reason: string, frameEnd: number): ParsedLog => {
    const rest = bytes.subarray(at);
    const torn = (frameEnd >= bytes.length && !intactFrameAfter(bytes, view, at)) || rest.every((b) => b === 0);
    return { records, end: at, damage: { kind: torn ? 'torn' : 'corrupt', offset: at, reason } };
  };
  while (at < bytes.length) {
    if (bytes.length - at < FRAME_HEAD) return damaged('a frame header is cut short', bytes.length);
    const length = view.getUint32(at, true);
    const end = at + FRAME_HEAD + length;
    if (length === 0) return damaged('a frame has length 0', end);
    if (end > bytes.length) return damaged(`a frame of ${length} bytes is cut short`, end);
    const record = bytes.subarray(at + FRAME_HEAD, end);
    if (crc32(record) !== view.getUint32(at + 4, true)) return damaged(`the checksum of a ${length}-byte frame does not match`, end);
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
 * True when an intact frame ending exactly at the end of the log starts after `from`: the
 * damaged frame's length was hurt, not its write cut short. One checksum per candidate whose
 * length lands on the end, so this stays linear in the bytes scanned.
 */
function intactFrameAfter(bytes: Uint8Array, view: DataView, from: number): boolean {
  for (let at = bytes.length - FRAME_HEAD - 1; at > from; at--) {
    const length = view.getUint32(at, true);
    if (length === 0 || at + FRAME_HEAD + length !== bytes.length) continue;
    if (crc32(bytes.subarray(at + FRAME_HEAD)) === view.getUint32(at + 4, true)) return true;
  }
  return false;
}

/** True when `bytes` starts with the log header. */
export function hasLogHeader(bytes: Uint8Array): boolean {
  return bytes.length >= LOG_HEADER.length && LOG_HEADER.every((b, i) => bytes[i] === b);
}
