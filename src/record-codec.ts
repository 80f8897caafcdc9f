import type { ChangeSet, RowOp, TableChanges } from './change-capture.js';
import type { CellValue } from './connection.js';
import { StoreError } from './errors.js';
import { IDENTITY_BYTES, identityFromBytes, identityToBytes, type StoreIdentity } from './store-identity.js';

/** One decoded commit record: its number in the log, and what it changed. */
export interface CommitRecord {
  /** The identity of the store that wrote it; null in a format-1 record, written before identities existed. */
  readonly identity: StoreIdentity | null;
  /** The checkpoint generation of the snapshot this record extends. */
  readonly generation: number;
  readonly seq: number;
  readonly changes: ChangeSet;
}

/**
 * A TEXT value kept as its UTF-8 bytes, checked to be UTF-8: how `decodeForReplay` gives long
 * texts. Replay binds the bytes as they are (`CAST(? AS TEXT)`), the same TEXT, with no string
 * decoded from them and encoded back.
 */
export class Utf8Text {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/** A value as `decodeForReplay` gives it: a CellValue, or a long TEXT as its bytes. */
export type ReplayValue = CellValue | Utf8Text;

/** A commit record as `decodeForReplay` gives it: a CommitRecord whose long texts are Utf8Text. */
export interface ReplayRecord extends Omit<CommitRecord, 'changes'> {
  readonly changes: {
    readonly tables: readonly ReplayTableChanges[];
    readonly sequences: ChangeSet['sequences'];
  };
}

/** One table's changes in a ReplayRecord. */
export interface ReplayTableChanges extends Omit<TableChanges, 'upserts'> {
  readonly upserts: readonly (readonly [bigint, readonly ReplayValue[], RowOp?])[];
}

const MAGIC = 0x41_4f_53_52; // 'AOSR'
/**
 * Format 3 ends with one byte per upsert, in order: whether the row is new or was there before (the
 * change feed's op); its deletes list only rows that were there before. Everything before that
 * trailer is laid out as in format 2. Format 2 (identity, no ops)
 * and format 1 (no identity) are still read; their upserts come without an op.
 */
const VERSION = 3;
const VERSION_WITHOUT_OPS = 2;
const VERSION_WITHOUT_IDENTITY = 1;
const OP_CODES: Record<RowOp, number> = { insert: 1, update: 2 };
enum Tag {
  Null = 0,
  Integer = 1,
  Real = 2,
  Text = 3,
  Blob = 4,
}

const encoder = new TextEncoder();
// ignoreBOM: a text that starts with U+FEFF keeps it (by default TextDecoder drops a leading BOM).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Strings up to this many bytes are decoded by hand when they are ASCII (see Reader.str). */
const SHORT_ASCII = 48;
/** decodeForReplay keeps texts longer than this many bytes as Utf8Text. */
const LONG_TEXT_BYTES = 64;

/**
 * Encodes a commit record: 'AOSR', format version, store identity, snapshot generation, sequence
 * number, then per table its columns, deleted rowids and row images, then the AUTOINCREMENT counters, then each upsert's op. Values keep their
 * SQLite type (INTEGER as 64-bit, REAL as float64, TEXT, BLOB, NULL), so replay is exact.
 */
export function encodeRecord(record: CommitRecord & { readonly identity: StoreIdentity }): Uint8Array {
  const w = new Writer();
  w.u32(MAGIC);
  w.u8(VERSION);
  w.raw(identityBytes(record.identity));
  w.u32(record.generation);
  w.f64(record.seq);
  w.u32(record.changes.tables.length);
  for (const table of record.changes.tables) {
    w.raw(tableHeader(table));
    w.u32(table.deletes.length);
    for (const rowid of table.deletes) w.i64(rowid);
    w.u32(table.upserts.length);
    for (const [rowid, values] of table.upserts) {
      w.i64(rowid);
      for (const value of values) w.value(value);
    }
  }
  w.u32(record.changes.sequences.length);
  for (const [name, seq] of record.changes.sequences) {
    w.str(name);
    w.i64(seq);
  }
  // 0: not known (a change set built without ops), read back as no op.
  for (const table of record.changes.tables) for (const [, , op] of table.upserts) w.u8(op ? OP_CODES[op] : 0);
  return w.finish();
}

/** Decodes a commit record; throws StoreError CORRUPT when the bytes are not one. */
export function decodeRecord(bytes: Uint8Array): CommitRecord {
  // Without textAsBytes no value is a Utf8Text: the record is a CommitRecord.
  return decode(bytes, false) as CommitRecord;
}

/**
 * Decodes a commit record for replay: as decodeRecord, checked the same way (CORRUPT on the same
 * bytes), but texts longer than 64 bytes come as Utf8Text, views into `bytes` (which must then
 * stay unchanged until the replay is done).
 */
export function decodeForReplay(bytes: Uint8Array): ReplayRecord {
  return decode(bytes, true);
}

function decode(bytes: Uint8Array, textAsBytes: boolean): ReplayRecord {
  const r = new Reader(bytes);
  try {
    if (r.u32() !== MAGIC) throw new Error('not a commit record (bad magic)');
    const version = r.u8();
    if (version !== VERSION && version !== VERSION_WITHOUT_OPS && version !== VERSION_WITHOUT_IDENTITY) {
      throw new Error(`unknown record format version ${version}`);
    }
    const identity = version === VERSION_WITHOUT_IDENTITY ? null : identityOf(r.raw(IDENTITY_BYTES));
    if (version !== VERSION_WITHOUT_IDENTITY && identity === null) throw new Error('the store identity is missing');
    const generation = r.u32();
    const seq = r.f64();
    const tables: ReplayTableChanges[] = [];
    for (let t = r.u32(); t > 0; t--) {
      const { table, columns } = r.head();
      const deletes: bigint[] = new Array(r.u32());
      for (let d = 0; d < deletes.length; d++) deletes[d] = r.i64();
      const upserts: ([bigint, ReplayValue[]] | [bigint, ReplayValue[], RowOp])[] = [];
      for (let n = r.u32(); n > 0; n--) {
        const rowid = r.i64();
        const values: ReplayValue[] = new Array(columns.length);
        for (let c = 0; c < values.length; c++) values[c] = r.value(textAsBytes);
        upserts.push([rowid, values]);
      }
      tables.push({ table, columns, deletes, upserts });
    }
    const sequences: [string, bigint][] = [];
    for (let n = r.u32(); n > 0; n--) sequences.push([r.str(), r.i64()]);
    if (version === VERSION) {
      for (const table of tables) {
        for (const upsert of table.upserts as [bigint, ReplayValue[], RowOp?][]) {
          const code = r.u8();
          if (code > OP_CODES.update) throw new Error(`unknown row op ${code}`);
          if (code !== 0) upsert[2] = code === OP_CODES.insert ? 'insert' : 'update';
        }
      }
    }
    if (!r.done()) throw new Error(`${bytes.length - r.offset} bytes left over`);
    return { identity, generation, seq, changes: { tables, sequences } };
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError('CORRUPT', `commit record is damaged: ${(error as Error).message}`, { cause: error });
  }
}

// A log holds one store's records, and most of them change the same few tables: the identity and
// each table's name and column list are decoded once and shared by the records that repeat their
// bytes (12 strings a record saved for a tool call; they were a fifth of decoding a long log).
let lastIdentityRead: { readonly bytes: Uint8Array; readonly identity: StoreIdentity | null } | null = null;
const HEADS_KEPT = 16;
const heads: { readonly bytes: Uint8Array; readonly table: string; readonly columns: readonly string[] }[] = [];

function identityOf(bytes: Uint8Array): StoreIdentity | null {
  if (lastIdentityRead === null || !sameBytes(lastIdentityRead.bytes, bytes)) {
    lastIdentityRead = { bytes: bytes.slice(), identity: identityFromBytes(bytes) };
  }
  return lastIdentityRead.identity;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// A store writes every record under one identity: its bytes are worked out once.
let lastIdentity: StoreIdentity | null = null;
let lastIdentityBytes: Uint8Array = new Uint8Array(0);

function identityBytes(identity: StoreIdentity): Uint8Array {
  if (identity !== lastIdentity) {
    lastIdentityBytes = identityToBytes(identity);
    lastIdentity = identity;
  }
  return lastIdentityBytes;
}

// A table's name and columns, encoded: change capture hands the same columns array for a table
// in every record until the schema changes, so its bytes are worked out once.
const tableHeaders = new WeakMap<readonly string[], { readonly table: string; readonly bytes: Uint8Array }>();

function tableHeader(table: TableChanges): Uint8Array {
  const cached = tableHeaders.get(table.columns);
  if (cached?.table === table.table) return cached.bytes;
  // Its own buffer: the record being encoded holds the scratch one.
  const w = new Writer(new Uint8Array(256));
  w.str(table.table);
  w.u32(table.columns.length);
  for (const column of table.columns) w.str(column);
  const bytes = w.finish();
  tableHeaders.set(table.columns, { table: table.table, bytes });
  return bytes;
}

/** Strings up to this many UTF-16 units are written by hand when they are ASCII (see Writer.str). */
const SHORT_TEXT = 64;

// Encoding is synchronous, so one scratch buffer serves every record; finish() copies out.
let scratch = new Uint8Array(64 * 1024);
let scratchView: DataView = new DataView(scratch.buffer);
const SCRATCH_LIMIT = 4 << 20;

class Writer {
  // Whether this writer's buffer is the shared scratch buffer (a table header has its own).
  readonly #shared: boolean;
  #buf: Uint8Array;
  #view: DataView;
  #at = 0;

  constructor(own?: Uint8Array) {
    this.#shared = own === undefined;
    this.#buf = own ?? scratch;
    this.#view = own ? new DataView(own.buffer) : scratchView;
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#at + n));
    next.set(this.#buf.subarray(0, this.#at));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    if (this.#shared && next.length <= SCRATCH_LIMIT) {
      scratch = next;
      scratchView = this.#view;
    }
  }
  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#at++] = v;
  }
  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.#at, v, true);
    this.#at += 4;
  }
  f64(v: number): void {
    this.#room(8);
    this.#view.setFloat64(this.#at, v, true);
    this.#at += 8;
  }
  i64(v: bigint): void {
    this.#room(8);
    this.#view.setBigInt64(this.#at, v, true);
    this.#at += 8;
  }
  raw(v: Uint8Array): void {
    this.#room(v.length);
    this.#buf.set(v, this.#at);
    this.#at += v.length;
  }
  bytes(v: Uint8Array): void {
    this.u32(v.length);
    this.raw(v);
  }
  str(v: string): void {
    // Encoded in place: a UTF-16 code unit never takes more than 3 bytes of UTF-8.
    this.#room(4 + v.length * 3);
    // Short ASCII (names, timestamps, small values) is copied by hand: encodeInto needs a
    // subarray made for each call, which costs more than the loop for a few dozen characters.
    if (v.length <= SHORT_TEXT && this.#ascii(v)) {
      this.#view.setUint32(this.#at, v.length, true);
      this.#at += 4 + v.length;
      return;
    }
    const { written } = encoder.encodeInto(v, this.#buf.subarray(this.#at + 4));
    this.#view.setUint32(this.#at, written, true);
    this.#at += 4 + written;
  }
  /** Writes `v` after the 4 bytes of its length if it is all ASCII; says whether it was. */
  #ascii(v: string): boolean {
    const buf = this.#buf;
    const at = this.#at + 4;
    for (let i = 0; i < v.length; i++) {
      const code = v.charCodeAt(i);
      if (code > 0x7f) return false;
      buf[at + i] = code;
    }
    return true;
  }
  value(v: CellValue): void {
    if (v === null) this.u8(Tag.Null);
    else if (typeof v === 'bigint') {
      this.u8(Tag.Integer);
      this.i64(v);
    } else if (typeof v === 'number') {
      this.u8(Tag.Real);
      this.f64(v);
    } else if (typeof v === 'string') {
      this.u8(Tag.Text);
      this.str(v);
    } else {
      this.u8(Tag.Blob);
      this.bytes(v);
    }
  }
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#at);
  }
}

class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  offset = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  #take(n: number): number {
    const at = this.offset;
    if (at + n > this.#buf.length) throw new Error(`truncated at byte ${at}`);
    this.offset += n;
    return at;
  }
  done(): boolean {
    return this.offset === this.#buf.length;
  }
  u8(): number {
    return this.#view.getUint8(this.#take(1));
  }
  u32(): number {
    return this.#view.getUint32(this.#take(4), true);
  }
  f64(): number {
    return this.#view.getFloat64(this.#take(8), true);
  }
  i64(): bigint {
    return this.#view.getBigInt64(this.#take(8), true);
  }
  raw(n: number): Uint8Array {
    const at = this.#take(n);
    return this.#buf.subarray(at, at + n);
  }
  bytes(): Uint8Array {
    const n = this.u32();
    const at = this.#take(n);
    return this.#buf.slice(at, at + n);
  }
  str(): string {
    const n = this.u32();
    const at = this.#take(n);
    const bytes = this.#buf.subarray(at, at + n);
    // Short ASCII (names, timestamps, small values) is built here: a TextDecoder call costs
    // more than the loop for a few dozen bytes, and a record holds many such strings.
    if (n <= SHORT_ASCII) {
      let ascii = true;
      for (let i = 0; i < n; i++) if (bytes[i]! > 0x7f) ascii = false;
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    return decoder.decode(bytes);
  }
  /** A table's name and columns, shared with earlier records that held the same bytes. */
  head(): { readonly table: string; readonly columns: readonly string[] } {
    const start = this.offset;
    const end = this.#headEnd();
    if (end > 0) {
      const bytes = this.#buf.subarray(start, end);
      const known = heads.find((h) => sameBytes(h.bytes, bytes));
      if (known) {
        this.offset = end;
        return known;
      }
    }
    const table = this.str();
    const columns: string[] = new Array(this.u32());
    for (let c = 0; c < columns.length; c++) columns[c] = this.str();
    // Only bytes that decoded (UTF-8 checked) are kept.
    if (heads.length === HEADS_KEPT) heads.shift();
    heads.push({ bytes: this.#buf.slice(start, this.offset), table, columns });
    return { table, columns };
  }
  /** Where the head at the offset ends, found from its lengths alone; -1 when cut short. */
  #headEnd(): number {
    const buf = this.#buf;
    let at = this.offset;
    if (at + 4 > buf.length) return -1;
    at += 4 + this.#view.getUint32(at, true);
    if (at + 4 > buf.length) return -1;
    let count = this.#view.getUint32(at, true);
    at += 4;
    for (; count > 0; count--) {
      if (at + 4 > buf.length) return -1;
      at += 4 + this.#view.getUint32(at, true);
    }
    return at > buf.length ? -1 : at;
  }
  /** A TEXT value: as Utf8Text when longer than LONG_TEXT_BYTES, else as a string. */
  text(): string | Utf8Text {
    if (this.offset + 4 > this.#buf.length) return this.str();
    const n = this.#view.getUint32(this.offset, true);
    if (n <= LONG_TEXT_BYTES || this.offset + 4 + n > this.#buf.length) return this.str();
    const at = this.#take(4 + n) + 4;
    const bytes = this.#buf.subarray(at, at + n);
    if (!isUtf8(bytes)) throw new Error(`a text of ${n} bytes is not UTF-8`);
    return new Utf8Text(bytes);
  }
  value(textAsBytes: boolean): ReplayValue {
    const tag = this.u8();
    switch (tag) {
      case Tag.Null:
        return null;
      case Tag.Integer:
        return this.i64();
      case Tag.Real:
        return this.f64();
      case Tag.Text:
        return textAsBytes ? this.text() : this.str();
      case Tag.Blob:
        return this.bytes();
      default:
        throw new Error(`unknown value tag ${tag}`);
    }
  }
}

/**
 * True when `bytes` is well-formed UTF-8, by the same rules as a fatal TextDecoder: no overlong
 * forms, no surrogates, nothing past U+10FFFF, nothing cut short.
 */
export function isUtf8(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    // Most of a log's text is ASCII: skip it eight bytes at a time.
    while (
      i + 8 <= n &&
      ((bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]! | bytes[i + 4]! | bytes[i + 5]! | bytes[i + 6]! | bytes[i + 7]!) &
        0x80) ===
        0
    ) {
      i += 8;
    }
    if (i >= n) break;
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
    } else if (b >= 0xc2 && b <= 0xdf) {
      if (i + 1 >= n || (bytes[i + 1]! & 0xc0) !== 0x80) return false;
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      if (i + 2 >= n) return false;
      const b1 = bytes[i + 1]!;
      if ((b1 & 0xc0) !== 0x80 || (b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 > 0x9f)) return false;
      if ((bytes[i + 2]! & 0xc0) !== 0x80) return false;
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      if (i + 3 >= n) return false;
      const b1 = bytes[i + 1]!;
      if ((b1 & 0xc0) !== 0x80 || (b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 > 0x8f)) return false;
      if ((bytes[i + 2]! & 0xc0) !== 0x80 || (bytes[i + 3]! & 0xc0) !== 0x80) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}
