import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { frame, hasLogHeader, LOG_HEADER, parseLog } from '../../adapters/log-frames.js';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import type { CellValue } from '../../src/connection.js';
import { openStore, StoreError } from '../../src/index.js';
import { type CommitRecord, decodeRecord, encodeRecord } from '../../src/record-codec.js';
import { asFormat1Record, asFormat2Record } from '../contract/legacy-format.js';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

type OwnRecord = CommitRecord & { identity: string };

/** A record holding every kind of value the codec must keep apart. */
function sampleRecord(): OwnRecord {
  const values: CellValue[] = [
    null,
    0n,
    -1n,
    2n ** 53n + 1n,
    INT64_MAX,
    INT64_MIN,
    0,
    -0,
    1,
    0.1,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    '',
    'plain',
    'ünïcødé ✓ 𝄞 漢字 \u0000 nul',
    new Uint8Array(0),
    new Uint8Array([0, 255, 1, 254]),
  ];
  return {
    identity: '00ff10203040a0fe',
    generation: 0xffff_fffe,
    seq: 2 ** 40 + 7,
    changes: {
      tables: [
        {
          table: 'table "with" quotes ✓',
          columns: values.map((_, i) => `c${i}`),
          deletes: [1n, INT64_MAX, INT64_MIN],
          upserts: [
            [5n, values, 'insert'],
            [2n ** 60n, values.map(() => null), 'update'],
            // A change set built without ops (as format 2 decodes) keeps none.
            [6n, values],
          ],
        },
        { table: 'empty', columns: [], deletes: [], upserts: [] },
      ],
      sequences: [
        ['tool_calls', 2n ** 62n],
        ['', 0n],
      ],
    },
  };
}

/** Equality that tells -0 from 0, 1n from 1, '' from an empty blob. */
function exactlyEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b);
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => exactlyEqual(x, b[i]));
  if (a !== null && typeof a === 'object') {
    if (b === null || typeof b !== 'object') return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => exactlyEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof StoreError ? error.code : `not a StoreError: ${String(error)}`;
  }
  return undefined;
}

const cellValue: fc.Arbitrary<CellValue> = fc.oneof(
  fc.constant(null),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.double(),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 40 }),
);

const commitRecord: fc.Arbitrary<OwnRecord> = fc
  .tuple(
    fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }).map((n) => n.toString(16).padStart(16, '0')),
    fc.nat({ max: 0xffff_ffff }),
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    fc.array(
      fc.integer({ min: 0, max: 5 }).chain((width) =>
        fc.record({
          table: fc.string({ unit: 'binary', minLength: 1 }),
          columns: fc.array(fc.string({ unit: 'binary' }), { minLength: width, maxLength: width }),
          deletes: fc.array(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), { maxLength: 4 }),
          upserts: fc.array(
            fc
              .tuple(
                fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
                fc.array(cellValue, { minLength: width, maxLength: width }),
                fc.constantFrom('insert', 'update', undefined),
              )
              .map(([rowid, row, op]) => (op ? ([rowid, row, op] as const) : ([rowid, row] as const))),
            { maxLength: 4 },
          ),
        }),
      ),
      { maxLength: 4 },
    ),
    fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.bigInt({ min: INT64_MIN, max: INT64_MAX })), { maxLength: 3 }),
  )
  .map(([identity, generation, seq, tables, sequences]) => ({ identity, generation, seq, changes: { tables, sequences } }));

describe('record codec', () => {
  test('round-trips every value type exactly', () => {
    const record = sampleRecord();
    const decoded = decodeRecord(encodeRecord(record));
    expect(exactlyEqual(decoded, record)).toBe(true);
    const row = decoded.changes.tables[0]!.upserts[0]![1];
    expect(Object.is(row[7], -0)).toBe(true);
    expect(typeof row[1]).toBe('bigint');
    expect(typeof row[6]).toBe('number');
    expect(row[3]).toBe(9007199254740993n);
    expect(row[12]).toBe('');
    expect(row[15]).toBeInstanceOf(Uint8Array);
  });

  test('the checker itself tells -0 from 0, 1n from 1 and text from blobs', () => {
    expect(exactlyEqual(-0, 0)).toBe(false);
    expect(exactlyEqual(1n, 1)).toBe(false);
    expect(exactlyEqual('', new Uint8Array(0))).toBe(false);
    expect(exactlyEqual([1n, 'a'], [1n, 'a'])).toBe(true);
  });

  test('round-trips random records (property)', () => {
    fc.assert(
      fc.property(commitRecord, (record) => exactlyEqual(decodeRecord(encodeRecord(record)), record)),
      { numRuns: 300 },
    );
  });

  test('every truncation of a record is CORRUPT', () => {
    const bytes = encodeRecord(sampleRecord());
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(
        codeOf(() => decodeRecord(bytes.subarray(0, cut))),
        `cut at ${cut}`,
      ).toBe('CORRUPT');
    }
  });

  test('bad magic, unknown version, unknown tag, invalid UTF-8 and trailing bytes are CORRUPT', () => {
    const good = encodeRecord(sampleRecord());
    const badMagic = good.slice();
    badMagic[0] = badMagic[0]! ^ 0xff;
    expect(codeOf(() => decodeRecord(badMagic))).toBe('CORRUPT');
    const badVersion = good.slice();
    badVersion[4] = 99;
    expect(codeOf(() => decodeRecord(badVersion))).toBe('CORRUPT');
    expect(codeOf(() => decodeRecord(new Uint8Array([...good, 0])))).toBe('CORRUPT');

    const oneValue = (value: CellValue): Uint8Array =>
      encodeRecord({
        identity: '0000000000000001',
        generation: 1,
        seq: 1,
        changes: { tables: [{ table: 't', columns: ['c'], deletes: [], upserts: [[1n, [value]]] }], sequences: [] },
      });
    // Layout: magic 4, version 1, identity 8, generation 4, seq 8, table count 4, name (4 + 1),
    // column count 4, column (4 + 1), delete count 4, upsert count 4, rowid 8, then the value's tag.
    const tagAt = 4 + 1 + 8 + 4 + 8 + 4 + 5 + 4 + 5 + 4 + 4 + 8;
    const badTag = oneValue(null);
    expect(badTag[tagAt]).toBe(0);
    badTag[tagAt] = 9;
    expect(codeOf(() => decodeRecord(badTag))).toBe('CORRUPT');
    const badText = oneValue('ab');
    expect(badText[tagAt]).toBe(3);
    badText[tagAt + 5] = 0xff;
    expect(codeOf(() => decodeRecord(badText))).toBe('CORRUPT');
    expect(codeOf(() => decodeRecord(new Uint8Array(0)))).toBe('CORRUPT');
  });

  test('writes format 3 with the store identity and row ops, and still reads format 2 (no ops) and 1 (no identity)', () => {
    const record = sampleRecord();
    const bytes = encodeRecord(record);
    expect(bytes[4]).toBe(3);
    expect(Array.from(bytes.subarray(5, 13))).toEqual([0x00, 0xff, 0x10, 0x20, 0x30, 0x40, 0xa0, 0xfe]);
    const withoutOps = {
      ...record,
      changes: {
        ...record.changes,
        tables: record.changes.tables.map((t) => ({ ...t, upserts: t.upserts.map(([rowid, row]) => [rowid, row] as const) })),
      },
    };
    expect(exactlyEqual(decodeRecord(asFormat2Record(bytes)), withoutOps)).toBe(true);
    const old = decodeRecord(asFormat1Record(bytes));
    expect(old.identity).toBeNull();
    expect(exactlyEqual({ ...old, identity: record.identity }, withoutOps)).toBe(true);
    // All zeros means "no identity", which a format-2 record must have.
    const zeroed = bytes.slice();
    zeroed.fill(0, 5, 13);
    expect(codeOf(() => decodeRecord(zeroed))).toBe('CORRUPT');
  });

  test('values survive a crash and replay through a real store with their SQLite types', async () => {
    const volume = new MemoryVolume();
    const store = await openStore({ adapter: memoryAdapter(volume) });
    await store.query('CREATE TABLE vals (id INTEGER PRIMARY KEY, v)');
    const values: CellValue[] = [9007199254740993n, INT64_MIN, -0, 1, 1n, 1.5, '', new Uint8Array(0), new Uint8Array([0, 1]), 'ж✓𝄞', null];
    for (const [i, v] of values.entries()) {
      await store.query('INSERT INTO vals (id, v) VALUES (?, ?)', [i + 1, typeof v === 'number' ? v : v]);
    }
    // REAL 1.0 must stay REAL: insert it through SQL so sql.js cannot turn it into an integer.
    await store.query('UPDATE vals SET v = CAST(1 AS REAL) WHERE id = 4');
    await store.query('UPDATE vals SET v = -0.0 WHERE id = 3');
    const read = (s: typeof store) =>
      s.query('SELECT id, typeof(v) AS t, quote(v) AS q, hex(v) AS h, v = 0 AND 1/v < 0 AS negzero FROM vals ORDER BY id');
    const before = await read(store);
    expect(volume.records.length).toBeGreaterThan(0);
    volume.breakLock();
    const again = await openStore({ adapter: memoryAdapter(volume) });
    const after = await read(again);
    expect(after).toEqual(before);
    expect(after.map((r) => r.t)).toEqual([
      'integer',
      'integer',
      'real',
      'real',
      'integer',
      'real',
      'text',
      'blob',
      'blob',
      'text',
      'null',
    ]);
    expect(after[0]!.q).toBe('9007199254740993');
    await again.close();
  });
});

describe('log frames', () => {
  const records = [new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7), new Uint8Array([9])];
  const log = (...parts: Uint8Array[]): Uint8Array => {
    const all = [LOG_HEADER, ...parts];
    const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of all) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const whole = log(...records.map(frame));
  const lastStart = whole.length - frame(records[2]!).length;

  test('frames carry length and CRC-32 and parse back', () => {
    const f = frame(new TextEncoder().encode('123456789'));
    const view = new DataView(f.buffer);
    expect(view.getUint32(0, true)).toBe(9);
    expect(view.getUint32(4, true)).toBe(0xcbf43926); // the standard CRC-32 check value
    const parsed = parseLog(whole);
    expect(parsed.damage).toBeNull();
    expect(parsed.end).toBe(whole.length);
    expect(parsed.records).toEqual(records);
    expect(parseLog(log())).toEqual({ records: [], end: LOG_HEADER.length, damage: null });
  });

  test('hasLogHeader', () => {
    expect(hasLogHeader(whole)).toBe(true);
    expect(hasLogHeader(LOG_HEADER.subarray(0, 7))).toBe(false);
    expect(hasLogHeader(new TextEncoder().encode('SQLite format 3\u0000'))).toBe(false);
  });

  test('a cut anywhere inside the last frame is torn and keeps the records before it', () => {
    for (let cut = lastStart; cut < whole.length; cut++) {
      const parsed = parseLog(whole.subarray(0, cut));
      if (cut === lastStart) {
        expect(parsed.damage).toBeNull();
      } else {
        expect(parsed.damage?.kind, `cut at ${cut}`).toBe('torn');
        expect(parsed.damage?.offset).toBe(lastStart);
      }
      expect(parsed.records).toEqual(records.slice(0, 2));
      expect(parsed.end).toBe(lastStart);
    }
  });

  test('zeros after the last frame (room made for the next appends) end the log, with no damage', () => {
    for (const room of [1, 7, 8, 64, 4096]) {
      const parsed = parseLog(log(...records.map(frame), new Uint8Array(room)));
      expect(parsed.damage, `${room} zeros`).toBeNull();
      expect(parsed.records).toEqual(records);
      expect(parsed.end).toBe(whole.length);
    }
    expect(parseLog(log(new Uint8Array(100)))).toEqual({ records: [], end: LOG_HEADER.length, damage: null });
  });

  test('a last frame ending in zero bytes, followed by room, parses whole', () => {
    const tailZeros = [records[0]!, new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0, 0])];
    const parsed = parseLog(log(...tailZeros.map(frame), new Uint8Array(100)));
    expect(parsed.damage).toBeNull();
    expect(parsed.records).toEqual(tailZeros);
  });

  test('a last frame torn inside the room is torn: cut at every byte, the rest zeros', () => {
    const room = 256;
    const padded = log(...records.map(frame), new Uint8Array(room));
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      const torn = padded.slice();
      torn.fill(0, cut, whole.length);
      const parsed = parseLog(torn);
      expect(parsed.damage?.kind, `cut at ${cut}`).toBe('torn');
      expect(parsed.damage?.offset).toBe(lastStart);
      expect(parsed.records).toEqual(records.slice(0, 2));
    }
    // Only the header of the last frame lost (its sector never written): still torn, not corrupt.
    const headless = padded.slice();
    headless.fill(0, lastStart, lastStart + 8);
    expect(parseLog(headless).damage?.kind).toBe('torn');
  });

  test('any flipped byte in an earlier frame is corruption when room follows the log too', () => {
    const padded = log(...records.map(frame), new Uint8Array(128));
    const secondStart = LOG_HEADER.length + frame(records[0]!).length;
    for (let at = secondStart; at < lastStart; at++) {
      const bad = padded.slice();
      bad[at]! ^= 0xff;
      const parsed = parseLog(bad);
      expect(parsed.damage?.kind, `byte ${at}`).toBe('corrupt');
      expect(parsed.damage?.offset).toBe(secondStart);
    }
  });

  test('any flipped byte in an earlier frame is corruption, never a torn tail', () => {
    const secondStart = LOG_HEADER.length + frame(records[0]!).length;
    for (let at = secondStart; at < lastStart; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = whole.slice();
        bad[at]! ^= mask;
        const parsed = parseLog(bad);
        expect(parsed.damage?.kind, `byte ${at} ^ ${mask}`).toBe('corrupt');
        expect(parsed.damage?.offset).toBe(secondStart);
        expect(parsed.records).toEqual([records[0]]);
      }
    }
  });
});
