import { Connection } from './connection.js';
import { messageOf } from './errors.js';
import type { ChunkHashes, ReplicaEndpoint, ReplicaOptions } from './persistence-adapter.js';
import { decodeRecord } from './record-codec.js';
import { replayRecords } from './replay.js';
import type { ReplicaReply, ReplicaRequest } from './replica-protocol.js';
import { readSeq } from './snapshot-header.js';
import { openRoom, withRoom } from './snapshot-room.js';
import { loadSqlEngine } from './sql-engine.js';

/**
 * The worker's side of a replica (see `PersistenceAdapter.spawnReplica`): keeps a second copy of
 * the store's database, applies the durable records the store sends, and exports it on request,
 * so the store's own thread never runs `db.export()`. It writes nothing anywhere: the store hands
 * the exported bytes to its adapter. Messages are handled one at a time, in the order sent.
 *
 * @example
 * // adapters/replica-worker-node.ts
 * serveReplica({ post: (m, t) => parentPort.postMessage(m, t), listen: (f) => parentPort.on('message', f) });
 */
export function serveReplica(endpoint: ReplicaEndpoint, options: ReplicaOptions = {}): void {
  const replica = new ReplicaDatabase();
  let queue = Promise.resolve();
  endpoint.listen((message) => {
    queue = queue.then(() => handle(message as ReplicaRequest)).catch(() => undefined);
  });

  async function handle(request: ReplicaRequest): Promise<void> {
    try {
      if (request.kind === 'open') await replica.open(request.snapshot, request.records);
      else if (request.kind === 'apply') replica.apply(request.records);
      else {
        const { bytes, seq } = replica.export();
        const chunkHashes = await hashesOf(bytes, options);
        const reply: ReplicaReply = { kind: 'exported', id: request.id, seq, bytes, ...(chunkHashes && { chunkHashes }) };
        endpoint.post(reply, wholeBuffer(bytes));
      }
    } catch (error) {
      replica.fail(error);
      const reply: ReplicaReply = { kind: 'failed', message: messageOf(error), ...(request.kind === 'export' && { id: request.id }) };
      endpoint.post(reply);
    }
  }
}

/** The replica's database and the number of the last commit it holds. */
class ReplicaDatabase {
  #conn: Connection | null = null;
  #seq = 0;
  #failure: string | null = null;

  async open(snapshot: Uint8Array | null, records: readonly Uint8Array[]): Promise<void> {
    const SQL = await loadSqlEngine();
    this.#conn?.close();
    this.#conn = null;
    this.#failure = null;
    if (!snapshot) throw new Error('a replica needs a snapshot to start from');
    // The snapshot was moved or copied here: it is the worker's own, so room can be made in place.
    const logBytes = records.reduce((sum, record) => sum + record.length, 0);
    const conn = new Connection(new SQL.Database(withRoom(snapshot, openRoom(snapshot.length, logBytes))));
    // As the store's own database: one connection, sql.js's file is volatile (durability is the
    // journal's), temp b-trees in memory, and a transaction's pages kept in the cache.
    conn.exec(
      'PRAGMA temp_store = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; ' +
        'PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON; PRAGMA cache_spill = 16384',
    );
    this.#conn = conn;
    this.#seq = readSeq(snapshot);
    this.apply(records);
  }

  /** Redoes `records` in one transaction: row images that passed every check when written. */
  apply(raw: readonly Uint8Array[]): void {
    const conn = this.#usable();
    if (raw.length === 0) return;
    const records = raw.map((bytes) => decodeRecord(bytes));
    conn.exec('BEGIN');
    try {
      replayRecords(conn, records);
      conn.exec('COMMIT');
    } catch (error) {
      try {
        conn.exec('ROLLBACK');
      } catch {
        // SQLite already rolled back.
      }
      throw error;
    }
    this.#seq = records[records.length - 1]!.seq;
  }

  export(): { bytes: Uint8Array; seq: number } {
    return { bytes: this.#usable().db.export(), seq: this.#seq };
  }

  fail(error: unknown): void {
    this.#failure ??= messageOf(error);
  }

  #usable(): Connection {
    if (this.#failure !== null) throw new Error(`the replica stopped after an earlier failure: ${this.#failure}`);
    if (!this.#conn) throw new Error('the replica was never opened');
    return this.#conn;
  }
}

/**
 * The chunk hashes of an export, when the adapter asked for them: worked out here, off the
 * store's thread. Only a hint, so a failure (no WebCrypto here) sends the export without them.
 */
async function hashesOf(bytes: Uint8Array, options: ReplicaOptions): Promise<ChunkHashes | undefined> {
  const wanted = options.chunkHashes;
  if (!wanted) return undefined;
  try {
    return { chunkBytes: wanted.chunkBytes, hashes: await wanted.hash(bytes) };
  } catch {
    return undefined;
  }
}

/** The buffer to transfer with `bytes`, when `bytes` is all of it (else it is copied). */
function wholeBuffer(bytes: Uint8Array): ArrayBuffer[] {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? [buffer] : [];
}
