import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { LOG_HEADER, parseLog } from '../../adapters/log-frames.js';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { openStore, type PersistenceAdapter, type SQLiteStore, StoreError } from '../../src/index.js';

const NEVER = { minLogBytes: Number.POSITIVE_INFINITY, maxLogBytes: Number.POSITIVE_INFINITY };
const N = 6;

let root: string;
/** The original store: a snapshot from the open-time migration, then N records in its log. */
let origin: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aos-torn-'));
  origin = join(root, 'origin.db');
  const store = await openStore({ adapter: fsAdapter(origin), checkpoint: NEVER });
  await store.missions.create({ phase: 'PLANNING', uuid: 'm-1' });
  for (let i = 1; i < N; i++) {
    await store.toolCalls.record({ mission: 'm-1', toolName: `tool_${i}`, args: { i, pad: 'x'.repeat(40) }, success: true, durationMs: i });
  }
  // Abandon the store as a killed process would: no close(), no checkpoint; drop our lock.
  await unlink(`${origin}.aos-lock`);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const hashOf = async (path: string): Promise<string> => sha(await readFile(path));

let copies = 0;
/** A fresh copy of the original store, with its log replaced by `log` when given. */
async function copyStore(log?: Uint8Array): Promise<string> {
  const dir = join(root, `c${copies++}`);
  await mkdir(dir);
  const path = join(dir, 'store.db');
  await copyFile(origin, path);
  if (log) await writeFile(`${path}.aos-log`, log);
  else await copyFile(`${origin}.aos-log`, `${path}.aos-log`);
  return path;
}

async function errorOf(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error('expected a StoreError, but the call resolved');
}

async function toolNames(store: SQLiteStore): Promise<string[]> {
  return (await store.query('SELECT tool_name FROM tool_calls ORDER BY id')).map((r) => String(r.tool_name));
}

const expectedNames = (count: number) => Array.from({ length: count }, (_, i) => `tool_${i + 1}`);

describe('torn and corrupt logs (fs adapter)', () => {
  /** The log as the writer left it: its frames, then zeros (room for its next appends). */
  let written: Uint8Array;
  /** Its frames alone, as a log without room (what earlier versions wrote) ends. */
  let log: Uint8Array;
  let frames: { start: number; end: number }[];

  beforeAll(async () => {
    written = new Uint8Array(await readFile(`${origin}.aos-log`));
    const parsed = parseLog(written);
    log = written.slice(0, parsed.end);
    expect(written.length).toBeGreaterThan(parsed.end + 512 * 1024);
    expect(written.subarray(parsed.end).every((b) => b === 0)).toBe(true);
    expect(parsed.damage).toBeNull();
    // One record for the mission, one per tool call.
    expect(parsed.records).toHaveLength(N);
    frames = [];
    let at = LOG_HEADER.length;
    for (const record of parsed.records) {
      frames.push({ start: at, end: at + 8 + record.length });
      at += 8 + record.length;
    }
    expect(at).toBe(log.length);
  });

  test('the untouched copy replays every record with no warning', async () => {
    const path = await copyStore();
    const warnings: string[] = [];
    const store = await openStore({ adapter: fsAdapter(path), onWarning: (w) => warnings.push(w) });
    expect(await toolNames(store)).toEqual(expectedNames(N - 1));
    expect(warnings).toEqual([]);
    await store.close();
  });

  test('a last frame torn inside the room (zeros from any byte of it on) keeps every record before it and warns', async () => {
    const last = frames[frames.length - 1]!;
    for (let cut = last.start; cut < last.end; cut += cut - last.start < 16 ? 1 : 13) {
      const torn = written.slice();
      torn.fill(0, cut, last.end);
      const path = await copyStore(torn);
      const warnings: string[] = [];
      const store = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER, onWarning: (w) => warnings.push(w) });
      expect(await toolNames(store), `cut at ${cut}`).toEqual(expectedNames(N - 2));
      // All zeros from the frame's first byte on is room, not a tear: nothing to warn of.
      expect(warnings.length, `cut at ${cut}`).toBe(cut === last.start ? 0 : 1);
      await store.toolCalls.record({ mission: 'm-1', toolName: 'after_tear', args: {}, success: true });
      await store.close();
      const again = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER, onWarning: (w) => warnings.push(w) });
      expect(await toolNames(again)).toEqual([...expectedNames(N - 2), 'after_tear']);
      await again.close();
      await rm(join(path, '..'), { recursive: true });
    }
  });

  test('a cut at every byte inside the last frame keeps every record before it, warns, and leaves the snapshot alone', async () => {
    const last = frames[frames.length - 1]!;
    const snapshotHash = await hashOf(origin);
    for (let cut = last.start + 1; cut < last.end; cut++) {
      const path = await copyStore(log.subarray(0, cut));
      const warnings: string[] = [];
      const store = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER, onWarning: (w) => warnings.push(w) });
      expect(await toolNames(store), `cut at ${cut}`).toEqual(expectedNames(N - 2));
      expect(warnings.length, `cut at ${cut}`).toBe(1);
      expect(warnings[0]).toMatch(/unfinished append/);
      expect(warnings[0]).toContain(path);
      expect(await hashOf(path), `the open rewrote the snapshot (cut at ${cut})`).toBe(snapshotHash);
      // The torn tail is gone from the file, so new records follow the intact ones.
      expect((await readFile(`${path}.aos-log`)).length).toBe(last.start);
      if ((cut - last.start) % 8 !== 1 && cut !== last.end - 1) {
        await store.close();
        continue;
      }
      await store.toolCalls.record({ mission: 'm-1', toolName: 'after_tear', args: {}, success: true });
      await store.close();
      const again = await openStore({ adapter: fsAdapter(path), onWarning: (w) => warnings.push(w) });
      expect(await toolNames(again)).toEqual([...expectedNames(N - 2), 'after_tear']);
      expect(warnings.length).toBe(1);
      await again.close();
      await rm(join(path, '..'), { recursive: true });
    }
  });

  test('a flipped byte anywhere in an earlier frame is CORRUPT, naming the path, with both files unchanged', async () => {
    const victim = frames[2]!;
    for (let at = victim.start; at < victim.end; at++) {
      const bad = log.slice();
      bad[at] = bad[at]! ^ 0x40;
      const path = await copyStore(bad);
      const before = [await hashOf(path), await hashOf(`${path}.aos-log`)];
      const error = await errorOf(openStore({ adapter: fsAdapter(path) }));
      expect(error.code, `byte ${at}: ${error.message}`).toBe('CORRUPT');
      expect(error.message).toContain(`${path}.aos-log`);
      expect([await hashOf(path), await hashOf(`${path}.aos-log`)]).toEqual(before);
      // The failed open released its lock.
      expect(existsSync(`${path}.aos-lock`)).toBe(false);
      await rm(join(path, '..'), { recursive: true });
    }
  });

  test("onCorruptLog: 'truncate' keeps the records before the damage and saves the damaged log aside", async () => {
    const victim = frames[2]!;
    for (const at of [victim.start + 1, victim.start + 5, victim.start + 20, victim.end - 1]) {
      const bad = log.slice();
      bad[at] = bad[at]! ^ 0x01;
      const path = await copyStore(bad);
      const snapshotHash = await hashOf(path);
      const warnings: string[] = [];
      const store = await openStore({
        adapter: fsAdapter(path, { onCorruptLog: 'truncate' }),
        checkpoint: NEVER,
        onWarning: (w) => warnings.push(w),
      });
      // Records 1 (the mission) and 2 (tool_1) precede the damaged third record.
      expect(await toolNames(store)).toEqual(expectedNames(1));
      expect(warnings.length).toBe(1);
      expect(warnings[0]).toMatch(/damaged/);
      expect(await hashOf(path)).toBe(snapshotHash);
      const aside = (await readdir(join(path, '..'))).filter((f) => f.startsWith('store.db.aos-log.corrupt-'));
      expect(aside).toHaveLength(1);
      expect(sha(await readFile(join(path, '..', aside[0]!)))).toBe(sha(bad));
      await store.toolCalls.record({ mission: 'm-1', toolName: 'after_repair', args: {}, success: true });
      await store.close();
      const again = await openStore({ adapter: fsAdapter(path) });
      expect(await toolNames(again)).toEqual([...expectedNames(1), 'after_repair']);
      await again.close();
    }
  });

  test('a log written by something else is CORRUPT and nothing is overwritten', async () => {
    const foreign = [
      randomBytes(200),
      new TextEncoder().encode('AOS-LOG\u0002 a later format, or not ours at all'),
      new Uint8Array([...new TextEncoder().encode('SQLite format 3\u0000'), ...randomBytes(84)]),
    ];
    for (const bytes of foreign) {
      const path = await copyStore(bytes);
      const before = [await hashOf(path), await hashOf(`${path}.aos-log`)];
      const error = await errorOf(openStore({ adapter: fsAdapter(path) }));
      expect(error.code).toBe('CORRUPT');
      expect(error.message).toContain(`${path}.aos-log`);
      expect([await hashOf(path), await hashOf(`${path}.aos-log`)]).toEqual(before);
    }
  });

  test('a truncated or foreign snapshot is CORRUPT and nothing is overwritten', async () => {
    const size = (await readFile(origin)).length;
    expect(size).toBeGreaterThanOrEqual(2 * 4096);
    const damages: [string, (path: string) => Promise<void>][] = [
      ['cut mid-page', (p) => truncate(p, size - 1000)],
      ['cut on a page boundary', (p) => truncate(p, size - 4096)],
      ['cut inside the header', (p) => truncate(p, 50)],
      ['random bytes', (p) => writeFile(p, randomBytes(8192))],
      ['a text file', (p) => writeFile(p, 'hello, this is not a database\n')],
    ];
    for (const [what, damage] of damages) {
      const path = await copyStore();
      await damage(path);
      const before = [await hashOf(path), await hashOf(`${path}.aos-log`)];
      const error = await errorOf(openStore({ adapter: fsAdapter(path) }));
      expect(error.code, `${what}: ${error.message}`).toBe('CORRUPT');
      expect(error.message, what).toContain(path);
      expect([await hashOf(path), await hashOf(`${path}.aos-log`)], what).toEqual(before);
    }
  });

  test('an unreadable path is IO, naming it', async () => {
    const file = join(root, 'a-regular-file');
    await writeFile(file, 'x');
    const under = join(file, 'store.db');
    const error = await errorOf(openStore({ adapter: fsAdapter(under) }));
    expect(error.code).toBe('IO');
    expect(error.message).toContain(file);

    const dirAsDb = join(root, 'a-folder.db');
    await mkdir(dirAsDb);
    const second = await errorOf(openStore({ adapter: fsAdapter(dirAsDb) }));
    expect(second.code).toBe('IO');
    expect(second.message).toContain(dirAsDb);
    expect(existsSync(`${dirAsDb}.aos-lock`)).toBe(false);
  });
});

/** A memory adapter whose appends and checkpoints fail (like a full disk) while `failing` is set. */
function flakyAdapter(volume: MemoryVolume, how: { append?: boolean; checkpoint?: 'before' | 'after-snapshot' }) {
  const inner = memoryAdapter(volume);
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const adapter: PersistenceAdapter = {
    location: 'flaky-memory',
    load: () => inner.load(),
    close: () => inner.close(),
    async append(record) {
      if (how.append) throw enospc();
      await inner.append(record);
    },
    async checkpoint(snapshot) {
      if (how.checkpoint === 'before') throw enospc();
      if (how.checkpoint === 'after-snapshot') {
        // The snapshot reached the disk, dropping the records did not.
        volume.snapshot = snapshot.slice();
        throw enospc();
      }
      await inner.checkpoint(snapshot);
    },
  };
  return adapter;
}

describe('a failing adapter (full disk)', () => {
  const crashAndReopen = async (volume: MemoryVolume): Promise<SQLiteStore> => {
    volume.breakLock();
    return openStore({ adapter: memoryAdapter(volume) });
  };

  test('a failed append rejects with IO, rolls memory back, and later writes work', async () => {
    const volume = new MemoryVolume();
    const how: { append?: boolean } = {};
    const store = await openStore({ adapter: flakyAdapter(volume, how), checkpoint: NEVER });
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-1' });
    await store.toolCalls.record({ mission: 'm-1', toolName: 'ok_1', args: {}, success: true });
    how.append = true;
    const error = await errorOf(store.toolCalls.record({ mission: 'm-1', toolName: 'lost', args: {}, success: true }));
    expect(error.code).toBe('IO');
    expect(error.message).toMatch(/flaky-memory/);
    expect(error.message).toMatch(/ENOSPC/);
    expect(await toolNames(store)).toEqual(['ok_1']);
    const txError = await errorOf(
      store.transaction(async (tx) => {
        await tx.toolCalls.record({ mission: 'm-1', toolName: 'lost_in_tx', args: {}, success: true });
        await tx.missions.setPhase('m-1', 'CODING');
      }),
    );
    expect(txError.code).toBe('IO');
    expect((await store.missions.get('m-1'))?.phase).toBe('PLANNING');
    expect((await errorOf(store.query('DELETE FROM tool_calls'))).code).toBe('IO');
    expect(await toolNames(store)).toEqual(['ok_1']);
    how.append = false;
    await store.toolCalls.record({ mission: 'm-1', toolName: 'ok_2', args: {}, success: true });
    expect(await toolNames(store)).toEqual(['ok_1', 'ok_2']);
    // The AUTOINCREMENT counter was rolled back too: ids are the same after replay.
    const ids = await store.query('SELECT id FROM tool_calls ORDER BY id');
    const reopened = await crashAndReopen(volume);
    expect(await toolNames(reopened)).toEqual(['ok_1', 'ok_2']);
    expect(await reopened.query('SELECT id FROM tool_calls ORDER BY id')).toEqual(ids);
    expect((await reopened.missions.get('m-1'))?.phase).toBe('PLANNING');
    await reopened.close();
  });

  test('a schema change whose checkpoint fails is IO and leaves no table behind', async () => {
    const volume = new MemoryVolume();
    const how: { checkpoint?: 'before' | 'after-snapshot' } = {};
    const store = await openStore({ adapter: flakyAdapter(volume, how), checkpoint: NEVER });
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-1' });
    how.checkpoint = 'before';
    const error = await errorOf(store.query('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)'));
    expect(error.code).toBe('IO');
    const tables = async (s: SQLiteStore) =>
      (await s.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'notes'")).length;
    expect(await tables(store)).toBe(0);
    expect((await errorOf(store.query('INSERT INTO notes (body) VALUES (?)', ['x']))).code).toBe('SQL');
    how.checkpoint = undefined;
    await store.toolCalls.record({ mission: 'm-1', toolName: 'after', args: {}, success: true });
    await store.query('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    await store.query('INSERT INTO notes (body) VALUES (?)', ['kept']);
    const reopened = await crashAndReopen(volume);
    expect(await toolNames(reopened)).toEqual(['after']);
    expect(await reopened.query('SELECT body FROM notes')).toEqual([{ body: 'kept' }]);
    await reopened.close();
  });

  test('writes acknowledged after a checkpoint that failed half-way survive a crash', async () => {
    for (const mode of ['before', 'after-snapshot'] as const) {
      const volume = new MemoryVolume();
      const how: { checkpoint?: 'before' | 'after-snapshot' } = {};
      const store = await openStore({ adapter: flakyAdapter(volume, how), checkpoint: NEVER });
      await store.missions.create({ phase: 'PLANNING', uuid: 'm-1' });
      await store.toolCalls.record({ mission: 'm-1', toolName: 'before_checkpoint', args: {}, success: true });
      how.checkpoint = mode;
      expect((await errorOf(store.checkpoint())).code).toBe('IO');
      how.checkpoint = undefined;
      await store.toolCalls.record({ mission: 'm-1', toolName: 'after_checkpoint', args: {}, success: true });
      await store.memory.set('m-1', 'k', { v: 1 });
      const reopened = await crashAndReopen(volume);
      expect(await toolNames(reopened), mode).toEqual(['before_checkpoint', 'after_checkpoint']);
      expect(await reopened.memory.get('m-1', 'k'), mode).toEqual({ v: 1 });
      await reopened.close();
    }
  });

  test('a failed background checkpoint warns, and the writes after it survive a crash', async () => {
    const volume = new MemoryVolume();
    const how: { checkpoint?: 'before' | 'after-snapshot' } = {};
    const warnings: string[] = [];
    const store = await openStore({
      adapter: flakyAdapter(volume, how),
      checkpoint: { minLogBytes: 0, maxLogBytes: 0 },
      onWarning: (w) => warnings.push(w),
    });
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-1' });
    how.checkpoint = 'after-snapshot';
    await store.toolCalls.record({ mission: 'm-1', toolName: 'one', args: {}, success: true });
    await store.query('SELECT 1'); // lets the queued background checkpoint run
    expect(warnings.some((w) => /background checkpoint failed/.test(w))).toBe(true);
    how.checkpoint = 'before';
    await store.toolCalls.record({ mission: 'm-1', toolName: 'two', args: {}, success: true });
    await store.query('SELECT 1');
    const reopened = await crashAndReopen(volume);
    expect(await toolNames(reopened)).toEqual(['one', 'two']);
    await reopened.close();
  });
});
