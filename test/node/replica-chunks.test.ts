import { describe, expect, it, vi } from 'vitest';
import { memoryAdapter } from '../../adapters/memory.js';
import { CHUNK_BYTES, hashChunks } from '../../adapters/snapshot-chunks.js';
import { CheckpointReplica } from '../../src/checkpoint-replica.js';
import { Connection } from '../../src/connection.js';
import type { ChunkHashes, PersistenceAdapter, SnapshotChunks } from '../../src/persistence-adapter.js';
import type { ReplicaReply, ReplicaRequest } from '../../src/replica-protocol.js';
import { serveReplica, writesReach } from '../../src/replica-worker.js';
import { adoptRoom, openRoom, replicaRoom, withRoom } from '../../src/snapshot-room.js';
import { loadSqlEngine } from '../../src/sql-engine.js';
import { openStore } from '../../src/store.js';

// A replica asked for a snapshot against a chunk base (the IndexedDB adapter's manifest) answers
// with only the chunks that differ, read from the memory sql.js keeps its file in: neither the
// worker nor the page makes a copy of the whole database, whose freeing stalled the page.

const hashing = { chunkHashes: { chunkBytes: CHUNK_BYTES, hash: (bytes: Uint8Array) => hashChunks(bytes, CHUNK_BYTES) } };

/** A store on memory whose snapshot and records are captured as the adapter receives them. */
async function capturedStore() {
  const inner = memoryAdapter();
  const captured = { snapshot: null as Uint8Array | null, records: [] as Uint8Array[] };
  const adapter = new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'append') {
        return (record: Uint8Array) => {
          captured.records.push(record.slice());
          return target.append(record);
        };
      }
      if (key === 'checkpoint') {
        return (snapshot: Uint8Array) => {
          captured.snapshot = snapshot.slice();
          captured.records = [];
          return target.checkpoint(snapshot);
        };
      }
      return Reflect.get(target, key, receiver);
    },
  }) as PersistenceAdapter;
  const store = await openStore({ adapter, checkpoint: { minLogBytes: 1e12, maxLogBytes: 1e12 } });
  await store.missions.create({ phase: 'PLANNING', uuid: 'm-chunks' });
  return { store, captured };
}

/** Serves a replica over an in-process endpoint. */
function replica(options: Parameters<typeof serveReplica>[1]) {
  let deliver!: (message: unknown) => void;
  const waiters: ((reply: ReplicaReply) => void)[] = [];
  serveReplica(
    {
      post: (message) => waiters.shift()?.(message as ReplicaReply),
      listen: (onMessage) => {
        deliver = onMessage;
      },
    },
    options,
  );
  const send = (request: ReplicaRequest) => deliver(request);
  return {
    open: (snapshot: Uint8Array) => send({ kind: 'open', snapshot, records: [] }),
    apply: (records: Uint8Array[]) => send({ kind: 'apply', records }),
    export: (since?: ChunkHashes | null) =>
      new Promise<Extract<ReplicaReply, { kind: 'exported' }>>((resolve, reject) => {
        waiters.push((reply) => (reply.kind === 'exported' ? resolve(reply) : reject(new Error(reply.message))));
        send({ kind: 'export', id: 1, ...(since !== undefined && { since }) });
      }),
  };
}

/** `base` with `sent`'s chunks written over it, at `sent`'s length. */
function assemble(base: Uint8Array | null, sent: SnapshotChunks): Uint8Array {
  const file = new Uint8Array(sent.length);
  if (base) file.set(base.subarray(0, Math.min(base.length, sent.length)));
  for (const [index, bytes] of sent.chunks) file.set(bytes, index * sent.hashes.chunkBytes);
  return file;
}

/** The tool names in a database file, and its integrity check. */
async function contentOf(file: Uint8Array): Promise<{ names: unknown[]; check: unknown }> {
  const SQL = await loadSqlEngine();
  const db = new SQL.Database(file.slice());
  try {
    const names = db.exec('SELECT tool_name FROM tool_calls ORDER BY id')[0]?.values.map((row) => row[0]) ?? [];
    return { names, check: db.exec('PRAGMA integrity_check')[0]!.values[0]![0] };
  } finally {
    db.close();
  }
}

async function namesIn(store: Awaited<ReturnType<typeof capturedStore>>['store']): Promise<unknown[]> {
  return (await store.query<{ tool_name: string }>('SELECT tool_name FROM tool_calls ORDER BY id')).map((r) => r.tool_name);
}

describe('a replica sends only the chunks that differ', () => {
  it('against no base it sends every chunk, each in a buffer of its own; against one, chunk 0 and the changed ones', async () => {
    const { store, captured } = await capturedStore();
    await store.transaction(async (tx) => {
      for (let i = 0; i < 45; i++)
        await tx.toolCalls.record({ mission: 'm-chunks', toolName: `c-${i}`, args: { pad: `${i}:`.repeat(35_000) }, success: true });
    });
    await store.checkpoint();
    const served = replica(hashing);
    served.open(captured.snapshot!.slice());
    // Read from the file where sql.js keeps it: no export at all.
    const exports = vi.spyOn((await loadSqlEngine()).Database.prototype, 'export');

    const all = (await served.export(null)).chunks!;
    const count = Math.ceil(all.length / CHUNK_BYTES);
    expect(count).toBeGreaterThanOrEqual(4);
    expect([...all.chunks.keys()]).toEqual(Array.from({ length: count }, (_, i) => i));
    for (const bytes of all.chunks.values()) expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    const first = assemble(null, all);
    expect(all.hashes.hashes).toEqual(await hashChunks(first, CHUNK_BYTES));
    expect(await contentOf(first)).toEqual({ names: await namesIn(store), check: 'ok' });

    await store.run("UPDATE tool_calls SET tool_name = 'changed' WHERE tool_name = 'c-20'");
    served.apply(captured.records.splice(0));
    const since = { chunkBytes: CHUNK_BYTES, hashes: await hashChunks(first, CHUNK_BYTES) };
    const some = (await served.export(since)).chunks!;
    expect(some.chunks.has(0)).toBe(true);
    expect(some.chunks.size).toBeGreaterThan(1);
    expect(some.chunks.size).toBeLessThan(count);
    const second = assemble(first, some);
    expect(some.hashes.hashes).toEqual(await hashChunks(second, CHUNK_BYTES));
    expect(await contentOf(second)).toEqual({ names: await namesIn(store), check: 'ok' });
    expect((await contentOf(second)).names).toContain('changed');
    expect(exports).not.toHaveBeenCalled();
    exports.mockRestore();
    await store.close();
  });

  it('stays exact while the database outgrows the room it was opened with, and after', async () => {
    const { store, captured } = await capturedStore();
    await store.toolCalls.record({ mission: 'm-chunks', toolName: 'seed', args: { pad: 'x'.repeat(200_000) }, success: true });
    await store.checkpoint();
    const served = replica(hashing);
    served.open(captured.snapshot!.slice());
    let file = assemble(null, (await served.export(null)).chunks!);
    const exports = vi.spyOn((await loadSqlEngine()).Database.prototype, 'export');
    // Each round grows the database by ~3 MB: far past the room it was opened with (as much again).
    for (let round = 0; round < 4; round++) {
      await store.transaction(async (tx) => {
        for (let i = 0; i < 10; i++) {
          await tx.toolCalls.record({
            mission: 'm-chunks',
            toolName: `g-${round}-${i}`,
            args: { pad: `${round}.${i}:`.repeat(50_000) },
            success: true,
          });
        }
      });
      await store.run(`UPDATE tool_calls SET tool_name = 'seed-${round}' WHERE id = 1`);
      served.apply(captured.records.splice(0));
      const sent = (await served.export({ chunkBytes: CHUNK_BYTES, hashes: await hashChunks(file, CHUNK_BYTES) })).chunks!;
      file = assemble(file, sent);
      expect(sent.hashes.hashes).toEqual(await hashChunks(file, CHUNK_BYTES));
      expect(await contentOf(file)).toEqual({ names: await namesIn(store), check: 'ok' });
    }
    // The file outgrew its room: exported (and reopened with new room) at least once.
    expect(exports).toHaveBeenCalled();
    exports.mockClear();
    // Reopened on its export with new room: a small change is read from the file again.
    await store.run("UPDATE tool_calls SET tool_name = 'last' WHERE id = 2");
    served.apply(captured.records.splice(0));
    const last = (await served.export({ chunkBytes: CHUNK_BYTES, hashes: await hashChunks(file, CHUNK_BYTES) })).chunks!;
    expect(last.chunks.size).toBeLessThan(Math.ceil(last.length / CHUNK_BYTES));
    expect(exports).not.toHaveBeenCalled();
    exports.mockRestore();
    file = assemble(file, last);
    expect(await contentOf(file)).toEqual({ names: await namesIn(store), check: 'ok' });
    await store.close();
  });

  it('where the base names a place and the worker can write there, it writes the chunks that differ itself and sends chunk 0 alone; when it cannot, it sends them', async () => {
    const { store, captured } = await capturedStore();
    await store.transaction(async (tx) => {
      for (let i = 0; i < 30; i++)
        await tx.toolCalls.record({ mission: 'm-chunks', toolName: `w-${i}`, args: { pad: `${i}:`.repeat(35_000) }, success: true });
    });
    await store.checkpoint();
    const first = captured.snapshot!.slice();
    const base = { chunkBytes: CHUNK_BYTES, hashes: await hashChunks(first, CHUNK_BYTES), writeAheadTo: 'the-place' };
    let failing = false;
    const wrote: { to: string; index: number; bytes: Uint8Array }[] = [];
    const served = replica({
      ...hashing,
      writeAhead: async (to, chunks) => {
        if (failing) throw new Error('the database is gone');
        // Copied here, as a writer must: the views are valid only until this resolves.
        for (const chunk of chunks) wrote.push({ to, index: chunk.index, bytes: chunk.bytes.slice() });
      },
    });
    served.open(first.slice());
    await store.run("UPDATE tool_calls SET tool_name = 'moved' WHERE tool_name IN ('w-3', 'w-25')");
    served.apply(captured.records.splice(0));
    const ahead = (await served.export(base)).chunks!;
    expect([...ahead.chunks.keys()]).toEqual([0]);
    expect(ahead.written?.length).toBeGreaterThanOrEqual(1);
    expect(wrote.map((w) => w.index)).toEqual(ahead.written);
    expect(new Set(wrote.map((w) => w.to))).toEqual(new Set(['the-place']));
    // Chunk 0 sent, the others as written: the database the store holds.
    const file = assemble(first, ahead);
    for (const w of wrote) file.set(w.bytes, w.index * CHUNK_BYTES);
    expect(await hashChunks(file, CHUNK_BYTES)).toEqual(ahead.hashes.hashes);
    expect(await contentOf(file)).toEqual({ names: await namesIn(store), check: 'ok' });

    failing = true;
    await store.run("UPDATE tool_calls SET tool_name = 'again' WHERE tool_name = 'w-12'");
    served.apply(captured.records.splice(0));
    const sent = (await served.export(base)).chunks!;
    expect(sent.written).toBeUndefined();
    expect(sent.chunks.size).toBeGreaterThan(1);
    expect(await contentOf(assemble(first, sent))).toEqual({ names: await namesIn(store), check: 'ok' });
    await store.close();
  });

  it('reads the file only where writes reach the bytes the database was opened from (else it exports)', async () => {
    const { store, captured } = await capturedStore();
    await store.toolCalls.record({ mission: 'm-chunks', toolName: 'probe', args: {}, success: true });
    await store.checkpoint();
    const SQL = await loadSqlEngine();
    const opened = withRoom(captured.snapshot!.slice(), 1 << 20);
    const live = new Connection(new SQL.Database(opened));
    expect(writesReach(live, opened)).toBe(true);
    // Unchanged by the probe: the same user_version, the same rows.
    expect(live.pragma('user_version')).toBe(new Connection(new SQL.Database(captured.snapshot!.slice())).pragma('user_version'));
    // An engine that copies what it is given: the bytes never see a write.
    const copied = withRoom(captured.snapshot!.slice(), 1 << 20);
    // (A plain view of the same bytes: sql.js copies it, as it copies any array.)
    expect(writesReach(new Connection(new SQL.Database(copied.subarray(0))), copied)).toBe(false);
    await store.close();
  });

  it('a replica opens with as much room again as its database, short of the longest array Node makes', () => {
    const MB = 1e6;
    expect(replicaRoom(100 * MB, 0)).toBe(100 * MB);
    expect(replicaRoom(100 * MB, 80 * MB)).toBe(openRoom(100 * MB, 80 * MB));
    // 2.25 GiB: as much again would pass 4 GiB, where withRoom would give none: up to just short of it.
    const big = 2.25 * 2 ** 30;
    expect(replicaRoom(big, 0)).toBeGreaterThan(openRoom(big, 0));
    expect(big + replicaRoom(big, 0) + 65536).toBeLessThanOrEqual(2 ** 32);
    // Past that, openRoom's (which withRoom then may not make: the store opens without room, as before).
    expect(replicaRoom(3.5 * 2 ** 30, 0)).toBe(openRoom(3.5 * 2 ** 30, 0));
  });

  it('without a hasher, or against a base of another chunk size, the export is whole', async () => {
    const { store, captured } = await capturedStore();
    await store.toolCalls.record({ mission: 'm-chunks', toolName: 'one', args: {}, success: true });
    await store.checkpoint();
    const plain = replica({});
    plain.open(captured.snapshot!.slice());
    const reply = await plain.export(null);
    expect(reply.chunks).toBeUndefined();
    expect(reply.bytes).toBeInstanceOf(Uint8Array);
    const hashed = replica(hashing);
    hashed.open(captured.snapshot!.slice());
    const other = await hashed.export({ chunkBytes: CHUNK_BYTES * 4, hashes: [] });
    expect(other.chunks).toBeUndefined();
    expect(await contentOf(other.bytes!)).toEqual({ names: ['one'], check: 'ok' });
    await store.close();
  });
});

describe('the snapshot a replica starts from', () => {
  it('a snapshot that cannot move is copied once, with the room the worker opens it with, and the copy moves; the worker opens it in place', async () => {
    const { store, captured } = await capturedStore();
    await store.toolCalls.record({ mission: 'm-chunks', toolName: 'start', args: { pad: 'p'.repeat(50_000) }, success: true });
    await store.checkpoint();
    const snapshot = captured.snapshot!;
    const before = snapshot.slice();
    const sent: { message: ReplicaRequest; transfer: readonly ArrayBuffer[] }[] = [];
    const port = {
      post: (message: unknown, transfer: readonly ArrayBuffer[] = []) => sent.push({ message: message as ReplicaRequest, transfer }),
      listen: () => undefined,
      terminate: async () => undefined,
    };
    const replicaPort = new CheckpointReplica(port, snapshot, [], false);
    const open = sent[0]!;
    expect(open.message.kind).toBe('open');
    const copy = (open.message as Extract<ReplicaRequest, { kind: 'open' }>).snapshot!;
    expect((open.message as { roomAfter?: boolean }).roomAfter).toBe(true);
    expect(open.transfer).toEqual([copy.buffer]);
    expect(copy.buffer).not.toBe(snapshot.buffer);
    expect(copy.byteOffset).toBe(0);
    expect(copy.buffer.byteLength).toBe(snapshot.length + replicaRoom(snapshot.length, 0));
    expect(Buffer.from(copy).equals(Buffer.from(before))).toBe(true);
    expect(new Uint8Array(copy.buffer, copy.length).every((b) => b === 0)).toBe(true);
    // The worker's side: the database opens in those bytes, no copy of its own.
    adoptRoom(copy);
    const opened = withRoom(copy, replicaRoom(copy.length, 0));
    expect(opened.buffer).toBe(copy.buffer);
    await replicaPort.close();
    await store.close();
  });
});
