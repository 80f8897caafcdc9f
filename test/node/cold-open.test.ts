import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32InJs } from '../../adapters/crc32.js';
import { fsAdapter } from '../../adapters/fs.js';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { Connection } from '../../src/connection.js';
import { openStore, type StoreError } from '../../src/index.js';
import { decodeForReplay, decodeRecord, encodeRecord, isUtf8, type ReplayRecord, Utf8Text } from '../../src/record-codec.js';
import { replayRecords } from '../../src/replay.js';
import { openRoom, replayRoom, snapshotBuffer, withRoom } from '../../src/snapshot-room.js';
import { loadSqlEngine } from '../../src/sql-engine.js';

const NEVER = { minLogBytes: 1e12, maxLogBytes: 1e12 };
const LONG = `{"text":"${'x'.repeat(100)} héllo ✓ 😀"}`;

/** A store with a snapshot and then a log of inserts, updates and deletes, left by a writer that died. */
async function crashed(): Promise<MemoryVolume> {
  const volume = new MemoryVolume();
  const store = await openStore({ adapter: memoryAdapter(volume), checkpoint: NEVER });
  await store.missions.create({ phase: 'CODING', uuid: 'm' });
  for (let i = 0; i < 300; i++) await store.toolCalls.record({ mission: 'm', toolName: 'read', args: { i, LONG }, success: true });
  await store.checkpoint();
  for (let i = 0; i < 400; i++) {
    await store.toolCalls.record({
      mission: 'm',
      toolName: `t${i % 5}`,
      args: { i, LONG },
      result: { LONG },
      success: i % 3 > 0,
      durationMs: i,
    });
  }
  await store.run('UPDATE tool_calls SET error_message = ? WHERE id % 7 = 0', [`✓ ${LONG}`]);
  await store.run('DELETE FROM tool_calls WHERE id % 11 = 0');
  await store.memory.set('m', 'plan', { LONG, n: 1.5 });
  volume.breakLock();
  return volume;
}

/** The database `snapshot` opens to once `records` are replayed on it, exported. */
async function replayed(snapshot: Uint8Array, records: readonly ReplayRecord[]): Promise<{ bytes: Uint8Array; check: unknown }> {
  const SQL = await loadSqlEngine();
  const conn = new Connection(new SQL.Database(snapshot));
  try {
    conn.exec('PRAGMA foreign_keys = OFF; BEGIN');
    replayRecords(conn, records);
    conn.exec('COMMIT');
    return { bytes: conn.db.export(), check: conn.pragma('integrity_check') };
  } finally {
    conn.close();
  }
}

describe('cold open: room for the replay', () => {
  it('a replay into room, made by a copy or in place, gives the very bytes of a replay without it', async () => {
    const volume = await crashed();
    const snapshot = volume.snapshot!;
    const logBytes = volume.records.reduce((n, r) => n + r.length, 0);
    const records = volume.records.map((r) => decodeForReplay(r));
    expect(records.length).toBeGreaterThan(400);

    const plain = await replayed(snapshot.slice(), records);
    const copied = withRoom(snapshot.slice(), replayRoom(logBytes));
    expect(copied.length).toBeGreaterThan(snapshot.length);
    const inPlace = snapshotBuffer(snapshot.length, replayRoom(logBytes));
    inPlace.set(snapshot);
    const adopted = withRoom(inPlace, replayRoom(logBytes));
    // No copy: the snapshot's own buffer, now longer.
    expect(adopted.buffer).toBe(inPlace.buffer);
    expect(adopted.length).toBeGreaterThan(snapshot.length);

    expect(plain.check).toBe('ok');
    for (const bytes of [copied, adopted]) {
      const result = await replayed(bytes, records);
      expect(result.check).toBe('ok');
      expect(result.bytes.length).toBe(plain.bytes.length);
      expect(Buffer.from(result.bytes).equals(Buffer.from(plain.bytes))).toBe(true);
    }
  });

  it('the whole log replayed in batches gives the rows of its records replayed one at a time', async () => {
    const volume = await crashed();
    const records = volume.records.map((r) => decodeForReplay(r));
    const SQL = await loadSqlEngine();
    const open = () => {
      const conn = new Connection(new SQL.Database(volume.snapshot!.slice()));
      conn.exec('PRAGMA foreign_keys = OFF; BEGIN');
      return conn;
    };
    // Every row of every table with its rowid and each value's SQLite type (sqlite_sequence's
    // rowids are its own business: a replay rewrites its entries once per replay).
    const dump = (conn: Connection) =>
      conn
        .rawRows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .map(([name]) => [
          name,
          conn.rawRows(
            name === 'sqlite_sequence' ? 'SELECT * FROM sqlite_sequence ORDER BY name' : `SELECT rowid, * FROM "${name}" ORDER BY rowid`,
          ),
        ]);
    const oneByOne = open();
    for (const record of records) replayRecords(oneByOne, [record]);
    oneByOne.exec('COMMIT');
    const whole = open();
    replayRecords(whole, records);
    whole.exec('COMMIT');
    const before = new Connection(new SQL.Database(volume.snapshot!.slice()));
    expect(dump(whole)).not.toEqual(dump(before));
    expect(dump(whole)).toEqual(dump(oneByOne));
    expect(whole.pragma('integrity_check')).toBe('ok');
    for (const conn of [oneByOne, whole, before]) conn.close();
  });

  it('gives no room to a snapshot whose header does not hold its page count, nor when none is asked', () => {
    const snapshot = new Uint8Array(4096);
    snapshot.set(new TextEncoder().encode('SQLite format 3\u0000'));
    new DataView(snapshot.buffer).setUint16(16, 4096);
    // Change counter 1, version-valid-for 0: SQLite would size the database by the file.
    new DataView(snapshot.buffer).setUint32(24, 1);
    new DataView(snapshot.buffer).setUint32(28, 1);
    expect(withRoom(snapshot, 1 << 20)).toBe(snapshot);
    new DataView(snapshot.buffer).setUint32(92, 1);
    expect(withRoom(snapshot, 0)).toBe(snapshot);
    expect(withRoom(snapshot, 1 << 20).length).toBe(4096 + (1 << 20));
  });

  it('a store opens with room for a quarter more database and its replay, and writes into it are the same database', async () => {
    expect(openRoom(400 << 20, 0)).toBe(100 << 20);
    expect(openRoom(400 << 20, 1 << 20)).toBe((100 << 20) + replayRoom(1 << 20));
    const SQL = await loadSqlEngine();
    const source = new SQL.Database();
    source.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); PRAGMA user_version = 7');
    source.exec(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t (body) SELECT hex(randomblob(300)) FROM n`,
    );
    const snapshot = source.export();
    source.close();
    const roomy = new SQL.Database(withRoom(snapshot, openRoom(snapshot.length, 0)));
    const plain = new SQL.Database(snapshot);
    for (const db of [roomy, plain]) {
      db.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO t (body) SELECT hex(randomblob(300)) FROM n`,
      );
    }
    // Same rows, same pages: the zeros after the database are never pages of it.
    expect(roomy.exec('SELECT count(*), sum(length(body)) FROM t')).toEqual(plain.exec('SELECT count(*), sum(length(body)) FROM t'));
    expect(roomy.exec('PRAGMA page_count')).toEqual(plain.exec('PRAGMA page_count'));
    expect(roomy.exec('PRAGMA integrity_check')[0]!.values).toEqual([['ok']]);
    expect(roomy.export().length).toBe(plain.export().length);
    roomy.close();
    plain.close();
  });

  it('a crashed fs store reopens with every acknowledged row, exactly, and is whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aos-cold-'));
    try {
      const path = join(dir, 'cold.db');
      const writer = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER });
      await writer.missions.create({ phase: 'CODING', uuid: 'm' });
      for (let i = 0; i < 300; i++) await writer.toolCalls.record({ mission: 'm', toolName: 'read', args: { i, LONG }, success: true });
      await writer.checkpoint();
      for (let i = 0; i < 400; i++) {
        await writer.toolCalls.record({
          mission: 'm',
          toolName: `t${i % 5}`,
          args: { i, LONG },
          result: { LONG },
          success: i % 3 > 0,
          durationMs: i,
        });
      }
      await writer.run('UPDATE tool_calls SET error_message = ? WHERE id % 7 = 0', [`✓ ${LONG}`]);
      await writer.run('DELETE FROM tool_calls WHERE id % 11 = 0');
      await writer.memory.set('m', 'plan', { LONG, n: 1.5 });
      const rows = 'SELECT *, typeof(result), typeof(duration_ms), typeof(error_message) FROM tool_calls ORDER BY id';
      const expected = await writer.query(rows);
      const memory = await writer.query('SELECT * FROM agent_memory');
      // What a crash leaves: the snapshot and the log as they are on disk now, no close().
      const copy = join(dir, 'copy.db');
      copyFileSync(path, copy);
      copyFileSync(`${path}.aos-log`, `${copy}.aos-log`);
      const store = await openStore({ adapter: fsAdapter(copy), checkpoint: NEVER });
      expect(await store.query(rows)).toEqual(expected);
      expect(await store.query('SELECT * FROM agent_memory')).toEqual(memory);
      const [row] = await store.query('SELECT error_message FROM tool_calls WHERE id = 7');
      expect(row?.error_message).toBe(`✓ ${LONG}`);
      expect(await store.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      await store.close();
      await writer.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cold open: decoding for replay', () => {
  const record = (value: string) =>
    encodeRecord({
      identity: '0000000000000001',
      generation: 1,
      seq: 1,
      changes: { tables: [{ table: 't', columns: ['c'], deletes: [], upserts: [[1n, [value]]] }], sequences: [] },
    });

  it('gives long texts as their UTF-8 bytes, short ones as strings, and a leading U+FEFF stays', () => {
    const long = decodeForReplay(record(`\uFEFF${LONG}`)).changes.tables[0]!.upserts[0]![1][0];
    expect(long).toBeInstanceOf(Utf8Text);
    expect(new TextDecoder('utf-8', { ignoreBOM: true }).decode((long as Utf8Text).bytes)).toBe(`\uFEFF${LONG}`);
    expect(decodeForReplay(record('short')).changes.tables[0]!.upserts[0]![1][0]).toBe('short');
    expect(decodeRecord(record('\uFEFFa')).changes.tables[0]!.upserts[0]![1][0]).toBe('\uFEFFa');
    expect(decodeRecord(record(`\uFEFF${LONG}`)).changes.tables[0]!.upserts[0]![1][0]).toBe(`\uFEFF${LONG}`);
  });

  it('is CORRUPT on the same bytes as decodeRecord: a long text that is not UTF-8, any cut', () => {
    const bytes = record(LONG);
    const bad = bytes.slice();
    bad[bytes.length - 20] = 0xff;
    const code = (f: () => unknown) => {
      try {
        f();
        return 'none';
      } catch (error) {
        return (error as StoreError).code;
      }
    };
    expect(code(() => decodeRecord(bad))).toBe('CORRUPT');
    expect(code(() => decodeForReplay(bad))).toBe('CORRUPT');
    for (let cut = 0; cut < bytes.length; cut++)
      expect(
        code(() => decodeForReplay(bytes.subarray(0, cut))),
        `cut at ${cut}`,
      ).toBe('CORRUPT');
  });

  it('isUtf8 agrees with a fatal TextDecoder on any bytes (property)', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const decodes = (bytes: Uint8Array) => {
      try {
        fatal.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const text = fc.string({ unit: 'binary' }).map((s) => new TextEncoder().encode(s));
    const mixed = fc.array(
      fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5)),
      {
        maxLength: 40,
      },
    );
    fc.assert(
      fc.property(text, mixed, fc.nat(), (good, noise, at) => {
        const spliced = new Uint8Array([...good.subarray(0, at % (good.length + 1)), ...noise, ...good.subarray(at % (good.length + 1))]);
        return isUtf8(good) && isUtf8(spliced) === decodes(spliced) && isUtf8(new Uint8Array(noise)) === decodes(new Uint8Array(noise));
      }),
      { numRuns: 2000 },
    );
  });

  it('the CRC-32 of zlib and of the JS table agree (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => crc32(bytes) === crc32InJs(bytes)));
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
