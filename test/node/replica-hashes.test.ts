import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, chunkHashesOf, hashChunks } from '../../adapters/snapshot-chunks.js';
import type { ReplicaReply } from '../../src/replica-protocol.js';
import { serveReplica } from '../../src/replica-worker.js';
import { loadSqlEngine } from '../../src/sql-engine.js';

// A replica can work out the chunk hashes of its export in its worker (the IndexedDB adapter's
// entry asks for them), and prepareCheckpoint then digests only the first chunk itself.

/** A database file of a bit more than `bytes` bytes, from sql.js. */
async function database(bytes: number): Promise<Uint8Array> {
  const SQL = await loadSqlEngine();
  const db = new SQL.Database();
  db.exec('CREATE TABLE t(x BLOB)');
  for (let at = 0; at < bytes; at += 100_000) db.exec('INSERT INTO t VALUES (randomblob(100000))');
  const file = db.export();
  db.close();
  return file;
}

/** Serves a replica over an in-process endpoint; resolves each export's reply. */
function replicaWith(options: Parameters<typeof serveReplica>[1]) {
  let deliver!: (message: unknown) => void;
  const replies: ReplicaReply[] = [];
  const waiters: ((reply: ReplicaReply) => void)[] = [];
  serveReplica(
    {
      post: (message) => {
        const reply = message as ReplicaReply;
        const waiter = waiters.shift();
        if (waiter) waiter(reply);
        else replies.push(reply);
      },
      listen: (onMessage) => {
        deliver = onMessage;
      },
    },
    options,
  );
  return {
    open: (snapshot: Uint8Array) => deliver({ kind: 'open', snapshot, records: [] }),
    export: (id: number) =>
      new Promise<ReplicaReply>((resolve) => {
        waiters.push(resolve);
        deliver({ kind: 'export', id });
      }),
  };
}

describe('chunk hashes worked out by the replica', () => {
  it('an export carries the hashes of its chunks when the worker entry asks for them', async () => {
    const snapshot = await database(2.5 * CHUNK_BYTES);
    const replica = replicaWith({ chunkHashes: { chunkBytes: CHUNK_BYTES, hash: (bytes) => hashChunks(bytes, CHUNK_BYTES) } });
    replica.open(snapshot.slice());
    const reply = await replica.export(1);
    expect(reply.kind).toBe('exported');
    if (reply.kind !== 'exported') return;
    expect(reply.chunkHashes?.chunkBytes).toBe(CHUNK_BYTES);
    expect(reply.chunkHashes?.hashes).toEqual(await hashChunks(reply.bytes!, CHUNK_BYTES));
    expect(reply.chunkHashes?.hashes.length).toBeGreaterThanOrEqual(3);
  });

  it('a hasher that fails leaves the export whole, without hashes, and the replica serving', async () => {
    const snapshot = await database(CHUNK_BYTES);
    const replica = replicaWith({
      chunkHashes: {
        chunkBytes: CHUNK_BYTES,
        hash: () => Promise.reject(new Error('no WebCrypto here')),
      },
    });
    replica.open(snapshot.slice());
    for (const id of [1, 2]) {
      const reply = await replica.export(id);
      expect(reply.kind).toBe('exported');
      if (reply.kind === 'exported') expect(reply.chunkHashes).toBeUndefined();
    }
  });

  it('with no hasher, no hashes', async () => {
    const replica = replicaWith({});
    replica.open(await database(10_000));
    const reply = await replica.export(1);
    expect(reply.kind === 'exported' && reply.chunkHashes).toBeUndefined();
  });

  it('prepareCheckpoint takes the given hashes, digesting the first chunk again (the header was stamped after the export)', async () => {
    const exported = await database(3.2 * CHUNK_BYTES);
    const given = await hashChunks(exported, CHUNK_BYTES);
    const stamped = exported.slice();
    stamped[72] = stamped[72]! ^ 0xff;
    const hashes = await chunkHashesOf(stamped, { chunkHashes: { chunkBytes: CHUNK_BYTES, hashes: given } });
    expect(hashes).toEqual(await hashChunks(stamped, CHUNK_BYTES));
    expect(hashes[0]).not.toEqual(given[0]);
    // The others are the given ones, not digests of the bytes: a deliberately wrong one shows it.
    const wrong = given.map((hash, i) => (i === 2 ? new Uint8Array(32) : hash));
    expect((await chunkHashesOf(stamped, { chunkHashes: { chunkBytes: CHUNK_BYTES, hashes: wrong } }))[2]).toEqual(new Uint8Array(32));
  });

  it('hints of another chunk size or count, or malformed, are ignored: every chunk is digested', async () => {
    const snapshot = await database(2.2 * CHUNK_BYTES);
    const all = await hashChunks(snapshot, CHUNK_BYTES);
    const bogus = all.map(() => new Uint8Array(32));
    for (const chunkHashes of [
      { chunkBytes: CHUNK_BYTES * 4, hashes: bogus },
      { chunkBytes: CHUNK_BYTES, hashes: bogus.slice(1) },
      { chunkBytes: CHUNK_BYTES, hashes: bogus.map(() => new Uint8Array(16)) },
    ]) {
      expect(await chunkHashesOf(snapshot, { chunkHashes })).toEqual(all);
    }
    expect(await chunkHashesOf(snapshot)).toEqual(all);
  });
});
