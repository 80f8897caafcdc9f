import { appendFile, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { fsTail } from '../../adapters/fs-tail.js';
import { frame, LOG_HEADER, parseLog } from '../../adapters/log-frames.js';
import { openStore, type SQLiteStore } from '../../src/index.js';

// The fs adapter writes zeros after the log's last frame (room) so that appends overwrite the
// file instead of growing it. These tests check that the room is made and reused, that readers
// following the log read through it, and that a store abandoned with room reopens cleanly.

const NEVER = { logRatio: Number.POSITIVE_INFINITY, minLogBytes: Number.MAX_SAFE_INTEGER, maxLogBytes: Number.MAX_SAFE_INTEGER };
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aos-room-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const logOf = (path: string) => `${path}.aos-log`;
const sizeOf = async (file: string) => (await stat(file)).size;
const count = async (store: SQLiteStore) => Number((await store.query('SELECT count(*) AS n FROM tool_calls'))[0]!.n);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('room in the log (fs adapter)', () => {
  test('the first append makes room and later appends fill it without growing the file', async () => {
    const path = join(root, 'fill.db');
    const store = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER });
    await store.missions.create({ phase: 'CODING', uuid: 'm' });
    const made = await sizeOf(logOf(path));
    expect(made).toBeGreaterThanOrEqual(1 << 20);
    for (let i = 0; i < 200; i++) await store.toolCalls.record({ mission: 'm', toolName: `t${i}`, args: { i }, success: true });
    // 200 small records fit the room: the file kept its size.
    expect(await sizeOf(logOf(path))).toBe(made);
    const bytes = new Uint8Array(await readFile(logOf(path)));
    const parsed = parseLog(bytes);
    expect(parsed.damage).toBeNull();
    expect(parsed.records).toHaveLength(201);
    expect(bytes.subarray(parsed.end).every((b) => b === 0)).toBe(true);
    // A record larger than the room left makes more room after itself.
    await store.toolCalls.record({ mission: 'm', toolName: 'big', args: { pad: 'y'.repeat(1_500_000) }, success: true });
    const grown = await sizeOf(logOf(path));
    expect(grown).toBeGreaterThan(made + 1_500_000);
    await store.toolCalls.record({ mission: 'm', toolName: 'after', args: {}, success: true });
    expect(await sizeOf(logOf(path))).toBe(grown);
    await store.close();
  });

  test('a store abandoned with room reopens with every record and no warning, and appends after its last frame', async () => {
    const path = join(root, 'abandoned.db');
    const store = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER });
    await store.missions.create({ phase: 'CODING', uuid: 'm' });
    for (let i = 0; i < 50; i++) await store.toolCalls.record({ mission: 'm', toolName: `t${i}`, args: { i }, success: true });
    // As a killed process would: no close(); its lock dropped.
    await unlink(`${path}.aos-lock`);
    const size = await sizeOf(logOf(path));
    const warnings: string[] = [];
    const again = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER, onWarning: (w) => warnings.push(w) });
    expect(await count(again)).toBe(50);
    expect(warnings).toEqual([]);
    await again.toolCalls.record({ mission: 'm', toolName: 'later', args: {}, success: true });
    // The record went into the room: same file size, and it parses after the others.
    expect(await sizeOf(logOf(path))).toBe(size);
    const parsed = parseLog(new Uint8Array(await readFile(logOf(path))));
    expect(parsed.damage).toBeNull();
    expect(parsed.records).toHaveLength(52);
    await unlink(`${path}.aos-lock`);
    const third = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER });
    expect(await count(third)).toBe(51);
    await third.close();
    await again.close().catch(() => undefined);
  });

  test('a reader follows records across its read windows, through one larger than a window and one larger than the room', async () => {
    const path = join(root, 'follow.db');
    const writer = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER });
    await writer.missions.create({ phase: 'CODING', uuid: 'm' });
    const reader = await openStore({ adapter: fsAdapter(path), readOnly: true });
    let written = 0;
    const record = (pad: number) =>
      writer.toolCalls.record({ mission: 'm', toolName: `t${written++}`, args: { pad: 'z'.repeat(pad) }, success: true });
    // ~1.1 KB records: several 64 KiB windows' worth, written while the reader polls.
    for (let i = 0; i < 300; i++) await record(1000 + (i % 37));
    await record(200_000);
    for (let i = 0; i < 20; i++) await record(500);
    await record(1_300_000);
    await record(10);
    await until(async () => (await count(reader)) === written, `the reader to see ${written} calls`);
    const rows = async (store: SQLiteStore) => store.query('SELECT tool_name, length(args) AS n FROM tool_calls ORDER BY id');
    expect(await rows(reader)).toEqual(await rows(writer));
    await reader.close();
    await writer.close();
  });
});

describe('a reader polling the log (fsTail)', () => {
  test('reads frames across its window, stops at a partial header, zeros or a frame not yet whole, and goes on when they are', async () => {
    const path = join(root, 'tail.db');
    const record = (n: number, size: number) => new Uint8Array(size).fill(n);
    const log = logOf(path);
    await writeFile(log, Buffer.concat([LOG_HEADER, frame(record(1, 100))]));
    const tail = fsTail(path);
    const loaded = await tail.load();
    expect(loaded.records).toEqual([record(1, 100)]);
    const poll = async () => {
      const got = await tail.poll();
      if (got === 'reload') throw new Error('the reader asked to reload');
      return got;
    };
    // A whole frame, then 5 bytes of the next one's header: the frame, and nothing past it.
    const third = frame(record(3, 200_000));
    await appendFile(log, Buffer.concat([frame(record(2, 70_000)), third.subarray(0, 5)]));
    expect(await poll()).toEqual([record(2, 70_000)]);
    expect(await poll()).toEqual([]);
    // The rest of a frame larger than the window arrives, then zeros (room) after it.
    await appendFile(log, third.subarray(5, 150_000));
    expect(await poll()).toEqual([]);
    await appendFile(log, Buffer.concat([third.subarray(150_000), new Uint8Array(1 << 20)]));
    expect(await poll()).toEqual([record(3, 200_000)]);
    expect(await poll()).toEqual([]);
    await tail.close();
  });
});
