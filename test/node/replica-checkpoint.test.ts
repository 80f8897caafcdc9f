import { statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { parseLog } from '../../adapters/log-frames.js';
import { openStore, type PersistenceAdapter, type SQLiteStore } from '../../src/index.js';
import { extendsSnapshot, isPreviousGeneration } from '../../src/log-lineage.js';
import type { ReplicaPort } from '../../src/persistence-adapter.js';
import { decodeRecord } from '../../src/record-codec.js';
import { readGeneration, readSeq } from '../../src/snapshot-header.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aos-replica-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Checkpoint at once (every 8 KiB of log), from a replica, whatever the size. */
const EAGER = { workerMinBytes: 0, minLogBytes: 8 * 1024, logRatio: 0 } as const;
const pad = 'p'.repeat(300);
/** Lets macrotasks in (the replica's replies), as an agent's other awaits do between its writes. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The fs adapter, with a gate after each checkpoint is prepared and before it may commit. */
function gatedAdapter(path: string) {
  const inner = fsAdapter(path);
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  let announce: (snapshot: Uint8Array) => void = () => undefined;
  const state = {
    prepared: 0,
    /** Resolves with the next snapshot prepared while the gate is closed. */
    nextPrepared: null as Promise<Uint8Array> | null,
    close() {
      gate = new Promise((resolve) => {
        release = resolve;
      });
      state.nextPrepared = new Promise((resolve) => {
        announce = resolve;
      });
    },
    open: () => release(),
  };
  const adapter: PersistenceAdapter = {
    location: inner.location,
    load: () => inner.load(),
    append: (record) => inner.append(record),
    checkpoint: (snapshot) => inner.checkpoint(snapshot),
    close: () => inner.close(),
    openReader: () => inner.openReader!(),
    spawnReplica: () => inner.spawnReplica!(),
    prepareCheckpoint: async (snapshot) => {
      const prepared = await inner.prepareCheckpoint!(snapshot);
      state.prepared++;
      announce((snapshot instanceof Uint8Array ? snapshot : snapshot.chunks.get(0)!).slice(0, 100));
      await gate;
      return prepared;
    },
  };
  return { adapter, state };
}

async function count(store: SQLiteStore): Promise<number> {
  const [row] = (await store.query('SELECT count(*) AS n FROM tool_calls')) as [{ n: number }];
  return row.n;
}

async function logRecords(path: string) {
  const parsed = parseLog(new Uint8Array(await readFile(`${path}.aos-log`)));
  return parsed.records.map((bytes) => decodeRecord(bytes));
}

describe('which log records extend a snapshot', () => {
  it('records of its generation, and of the one before past its commit number; nothing else', () => {
    const snapshot = { generation: 5, seq: 100 };
    expect(extendsSnapshot({ generation: 5, seq: 101 }, snapshot)).toBe(true);
    expect(extendsSnapshot({ generation: 4, seq: 101 }, snapshot)).toBe(true);
    expect(extendsSnapshot({ generation: 4, seq: 100 }, snapshot)).toBe(false);
    expect(extendsSnapshot({ generation: 3, seq: 150 }, snapshot)).toBe(false);
    expect(extendsSnapshot({ generation: 6, seq: 150 }, snapshot)).toBe(false);
  });

  it('counts generations as the journal does: from 0, wrapping from 2^32 − 1 to 1', () => {
    expect(isPreviousGeneration(0, 1)).toBe(true);
    expect(isPreviousGeneration(0xffff_ffff, 1)).toBe(true);
    expect(isPreviousGeneration(1, 2)).toBe(true);
    expect(isPreviousGeneration(0, 0)).toBe(false);
    expect(isPreviousGeneration(2, 1)).toBe(false);
    expect(isPreviousGeneration(0xffff_fffe, 0xffff_ffff)).toBe(true);
  });
});

describe('checkpoints taken from a replica in a worker thread (fs)', () => {
  it('writes go on while a checkpoint is pending; its commit keeps the records appended meanwhile; all of it reopens', async () => {
    const dir = join(root, 'gated');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const { adapter, state } = gatedAdapter(path);
    const warnings: string[] = [];
    const store = await openStore({ adapter, checkpoint: EAGER, onWarning: (w) => warnings.push(w) });
    const mission = await store.missions.create({ phase: 'PLANNING' });
    state.close();
    let written = 0;
    const write = async () => {
      await store.toolCalls.record({ mission: mission.id, toolName: `t${written % 5}`, args: { written, pad }, success: true });
      written++;
      await tick();
    };
    // Write until a background checkpoint has been prepared and waits at the gate.
    let prepared: Uint8Array | null = null;
    void state.nextPrepared!.then((header) => {
      prepared = header;
    });
    while (prepared === null) {
      await write();
      expect(written, 'a background checkpoint starts once the log passes 8 KiB').toBeLessThan(5000);
    }
    const covered = readSeq(prepared);
    const before = (await stat(path)).ino;
    // The checkpoint is pending: these writes neither wait for it nor are lost by it.
    for (let i = 0; i < 25; i++) await write();
    expect((await stat(path)).ino).toBe(before);
    const logBeforeCommit = join(dir, 'log-before-commit');
    await copyFile(`${path}.aos-log`, logBeforeCommit);
    const writtenAtCopy = written;
    state.open();
    // The commit takes a turn of the queue; a read queued after it sees it done.
    while ((await stat(path)).ino === before) await tick();
    await count(store);
    const snapshot = new Uint8Array(await readFile(path));
    expect(readSeq(snapshot)).toBe(covered);
    const kept = await logRecords(path);
    expect(kept.length).toBeGreaterThanOrEqual(25);
    // The records kept are exactly those after the snapshot's commit, of the generation before it.
    expect(kept[0]!.seq).toBe(covered + 1);
    for (const record of kept) expect(extendsSnapshot(record, { generation: readGeneration(snapshot), seq: covered })).toBe(true);
    expect(kept.some((r) => r.generation !== readGeneration(snapshot))).toBe(true);

    // A crash after the snapshot's rename and before the log was cut: the new snapshot and the whole old log.
    const crashed = join(root, 'crashed-between');
    await mkdir(crashed);
    await copyFile(path, join(crashed, 'store.db'));
    await copyFile(logBeforeCommit, join(crashed, 'store.db.aos-log'));
    const reopenedCrash = await openStore({ adapter: fsAdapter(join(crashed, 'store.db')) });
    // Every call acknowledged when the log was copied: those up to the snapshot's number are in it, the rest are replayed.
    expect(await count(reopenedCrash)).toBe(writtenAtCopy);
    await reopenedCrash.close();

    for (let i = 0; i < 50; i++) await write();
    await store.close();
    expect(warnings).toEqual([]);
    const reopened = await openStore({ adapter: fsAdapter(path) });
    expect(await count(reopened)).toBe(written);
    await reopened.close();
  });

  it('a reader beside the writer follows through checkpoints that keep records, to the same rows', async () => {
    const dir = join(root, 'reader');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const store = await openStore({ adapter: fsAdapter(path), checkpoint: EAGER });
    const mission = await store.missions.create({ phase: 'PLANNING' });
    const reader = await openStore({ adapter: fsAdapter(path), readOnly: true });
    const firstIno = (await stat(path)).ino;
    let written = 0;
    const inodes = new Set<number>([firstIno]);
    while (inodes.size < 4) {
      await store.toolCalls.record({ mission: mission.id, toolName: 'read_file', args: { written, pad }, success: true });
      written++;
      if (written % 10 === 0) await reader.refresh();
      inodes.add((await stat(path)).ino);
      await tick();
      expect(written, 'background checkpoints land while the writer writes').toBeLessThan(20_000);
    }
    await reader.refresh();
    expect(await count(reader)).toBe(written);
    await reader.close();
    await store.close();
  });

  it('a loop that never lets the event loop turn between writes still sees background checkpoints land', async () => {
    const dir = join(root, 'tight');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const store = await openStore({ adapter: fsAdapter(path, { blockingAppends: true }), checkpoint: EAGER });
    const mission = await store.missions.create({ phase: 'PLANNING' });
    const inodes = new Set<number>([statSync(path).ino]);
    let written = 0;
    // Synchronous appends: each write resolves through microtasks alone, so without the store's
    // yielding the replica's reply and the snapshot's writes would wait for the loop to end.
    while (inodes.size < 3) {
      await store.toolCalls.record({ mission: mission.id, toolName: 'grep', args: { written, pad }, success: true });
      written++;
      if (written % 100 === 0) inodes.add(statSync(path).ino);
      expect(written, 'background checkpoints land during the loop').toBeLessThan(20_000);
    }
    await store.close();
    const reopened = await openStore({ adapter: fsAdapter(path) });
    expect(await count(reopened)).toBe(written);
    await reopened.close();
  });

  it('explicit checkpoint() and close() go through the replica and leave no log behind', async () => {
    const dir = join(root, 'explicit');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const store = await openStore({ adapter: fsAdapter(path), checkpoint: { workerMinBytes: 0 } });
    const mission = await store.missions.create({ phase: 'CODING' });
    for (let i = 0; i < 40; i++) await store.toolCalls.record({ mission: mission.id, toolName: 'grep', args: { i }, success: i % 3 !== 0 });
    await store.checkpoint();
    expect(await logRecords(path)).toEqual([]);
    const snapshot = new Uint8Array(await readFile(path));
    expect(readSeq(snapshot)).toBeGreaterThan(40);
    await store.memory.set(mission.id, 'k', { v: 1 });
    await store.close();
    expect(await logRecords(path)).toEqual([]);
    const reopened = await openStore({ adapter: fsAdapter(path) });
    expect(await count(reopened)).toBe(40);
    expect(await reopened.memory.get(mission.id, 'k')).toEqual({ v: 1 });
    await reopened.close();
  });

  it('VACUUM and schema changes still checkpoint from this thread, and the replica starts over from them', async () => {
    const dir = join(root, 'vacuum');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const store = await openStore({ adapter: fsAdapter(path), checkpoint: EAGER });
    const mission = await store.missions.create({ phase: 'CODING' });
    for (let i = 0; i < 60; i++) {
      await store.toolCalls.record({ mission: mission.id, toolName: 'grep', args: { i, pad }, success: true });
      await tick();
    }
    await store.run('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    await store.run('INSERT INTO notes (body) VALUES (?)', ['after the schema change']);
    await store.run('DELETE FROM tool_calls WHERE id % 2 = 0');
    await store.run('VACUUM');
    for (let i = 0; i < 60; i++) {
      await store.toolCalls.record({ mission: mission.id, toolName: 'read_file', args: { i, pad }, success: true });
      await tick();
    }
    await store.checkpoint();
    await store.close();
    const reopened = await openStore({ adapter: fsAdapter(path) });
    expect(await count(reopened)).toBe(90);
    expect(await reopened.query('SELECT body FROM notes')).toEqual([{ body: 'after the schema change' }]);
    await reopened.close();
  });

  it('a replica that fails is dropped with a warning; checkpoints then export on this thread and nothing is lost', async () => {
    const dir = join(root, 'failing');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const inner = fsAdapter(path);
    // The real worker, with a way to kill it as a crash would: it ends, and the store hears of it as an error.
    let kill: (() => Promise<void>) | null = null;
    const adapter: PersistenceAdapter = {
      location: inner.location,
      load: () => inner.load(),
      append: (record) => inner.append(record),
      checkpoint: (snapshot) => inner.checkpoint(snapshot),
      close: () => inner.close(),
      prepareCheckpoint: (snapshot) => inner.prepareCheckpoint!(snapshot),
      spawnReplica: (): ReplicaPort => {
        const port = inner.spawnReplica!();
        let died: (error: Error) => void = () => undefined;
        kill = async () => {
          await port.terminate();
          died(new Error('the worker was killed'));
        };
        return {
          post: (message, transfer) => port.post(message, transfer),
          listen: (onMessage, onError) => {
            died = onError;
            port.listen(onMessage, onError);
          },
          terminate: () => port.terminate(),
        };
      },
    };
    const warnings: string[] = [];
    const store = await openStore({ adapter, checkpoint: EAGER, onWarning: (w) => warnings.push(w) });
    const mission = await store.missions.create({ phase: 'CODING' });
    expect(kill).not.toBe(null);
    // The worker dies under the store.
    await kill!();
    for (let i = 0; i < 80; i++) {
      await store.toolCalls.record({ mission: mission.id, toolName: 'grep', args: { i, pad }, success: true });
      await tick();
    }
    await store.checkpoint();
    expect(await logRecords(path)).toEqual([]);
    await store.close();
    const reopened = await openStore({ adapter: fsAdapter(path) });
    expect(await count(reopened)).toBe(80);
    await reopened.close();
    expect(warnings.some((w) => w.includes('checkpoint replica failed') && w.includes('export on this thread'))).toBe(true);
  });

  it('refuses a workerMinBytes that is not a size, with INVALID_INPUT', async () => {
    const path = join(root, 'invalid.db');
    await expect(openStore({ adapter: fsAdapter(path), checkpoint: { workerMinBytes: -1 } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(openStore({ adapter: fsAdapter(path), checkpoint: { workerMinBytes: Number.NaN } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('workerMinBytes'),
    });
  });
});

describe('a replica after an open that replayed the log', () => {
  it('starts from the snapshot as it was before the replay (the page replays in those bytes): no failure, checkpoints from it', async () => {
    const path = join(root, 'replayed.db');
    const policy = { workerMinBytes: 0, minLogBytes: 1e12, maxLogBytes: 1e12 };
    const first = await openStore({ adapter: fsAdapter(path), checkpoint: policy });
    await first.missions.create({ phase: 'PLANNING', uuid: 'm-replayed' });
    await first.checkpoint();
    // Enough to grow the database past the snapshot's length when replayed.
    for (let i = 0; i < 300; i++) {
      await first.toolCalls.record({ mission: 'm-replayed', toolName: `r-${i}`, args: { pad: 'x'.repeat(3000) }, success: true });
    }
    // Left as a killed writer leaves it: the lock file goes, the log stays.
    await rm(`${path}.aos-lock`, { force: true });
    const warnings: string[] = [];
    const second = await openStore({ adapter: fsAdapter(path), checkpoint: policy, onWarning: (w) => warnings.push(w) });
    await second.toolCalls.record({ mission: 'm-replayed', toolName: 'after', args: {}, success: true });
    await second.checkpoint();
    expect(warnings.filter((w) => w.includes('replica'))).toEqual([]);
    await second.close();
    const third = await openStore({ adapter: fsAdapter(path), checkpoint: policy });
    expect((await third.query('SELECT count(*) AS n FROM tool_calls'))[0]).toEqual({ n: 301 });
    expect((await third.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
    await third.close();
  });
});
