import { Connection } from './connection.js';
import { messageOf } from './errors.js';
import type { ChunkBase, ChunkHashes, ReplicaEndpoint, ReplicaOptions } from './persistence-adapter.js';
import { decodeRecord } from './record-codec.js';
import { replayRecords } from './replay.js';
import type { ReplicaReply, ReplicaRequest } from './replica-protocol.js';
import { readSeq } from './snapshot-header.js';
import { adoptRoom, liveFile, replicaRoom, withRoom } from './snapshot-room.js';
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
      if (request.kind === 'open') {
        if (request.roomAfter && request.snapshot) adoptRoom(request.snapshot);
        await replica.open(request.snapshot, request.records);
      } else if (request.kind === 'apply') replica.apply(request.records);
      else if (request.since !== undefined && (await exportChunks(request.id, request.since))) return;
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

  /**
   * Answers an export with the chunks that differ from `since` (all of them when null), read from
   * the database's file where sql.js keeps it: no copy of the whole database is made, here or on
   * the store's thread. Where `since` says where to write them ahead and this worker can, it
   * writes them there and sends chunk 0 alone. False when this worker does not hash chunks of
   * that size, or hashing failed: the export then goes whole.
   */
  async function exportChunks(id: number, since: ChunkBase | null): Promise<boolean> {
    const wanted = options.chunkHashes;
    if (!wanted || (since && since.chunkBytes !== wanted.chunkBytes)) return false;
    const { file, seq } = await replica.file();
    let hashes: Uint8Array[];
    try {
      hashes = await wanted.hash(file);
    } catch {
      return false;
    }
    const chunkBytes = wanted.chunkBytes;
    const bytesOf = (index: number) => file.subarray(index * chunkBytes, Math.min(file.length, (index + 1) * chunkBytes));
    const differing: number[] = [];
    for (let index = 1; index < hashes.length; index++) {
      const before = since?.hashes[index];
      if (!before || !sameBytes(before, hashes[index]!)) differing.push(index);
    }
    let written: number[] = [];
    if (since?.writeAheadTo !== undefined && options.writeAhead && differing.length > 0) {
      try {
        // Views of the file: the writer copies each as it writes it, and nothing changes the
        // file before this message is answered.
        await options.writeAhead(
          since.writeAheadTo,
          differing.map((index) => ({ index, hash: hashes[index]!, bytes: bytesOf(index) })),
        );
        written = differing;
      } catch {
        // Sent instead; a part already written is passed over by readers until a commit deletes it.
      }
    }
    const chunks = new Map<number, Uint8Array>();
    // Copies of their own: the file's memory stays sql.js's, and the copies move to the store.
    for (const index of [0, ...differing]) if (index === 0 || written.length === 0) chunks.set(index, bytesOf(index).slice());
    const reply: ReplicaReply = {
      kind: 'exported',
      id,
      seq,
      chunks: { length: file.length, hashes: { chunkBytes, hashes }, chunks, ...(written.length > 0 && { written }) },
    };
    endpoint.post(
      reply,
      [...chunks.values()].map((chunk) => chunk.buffer as ArrayBuffer),
    );
    return true;
  }
}

/** The replica's database and the number of the last commit it holds. */
class ReplicaDatabase {
  #conn: Connection | null = null;
  /** The bytes the database was opened from, which hold its file while it fits (see liveFile). */
  #opened: Uint8Array | null = null;
  #seq = 0;
  #failure: string | null = null;

  async open(snapshot: Uint8Array | null, records: readonly Uint8Array[]): Promise<void> {
    this.#conn?.close();
    this.#conn = null;
    this.#opened = null;
    this.#failure = null;
    if (!snapshot) throw new Error('a replica needs a snapshot to start from');
    // The snapshot was moved or copied here: it is the worker's own, so room can be made in place.
    const logBytes = records.reduce((sum, record) => sum + record.length, 0);
    // Read first: opened in place, these bytes become the database's file.
    const seq = readSeq(snapshot);
    await this.#connect(withRoom(snapshot, replicaRoom(snapshot.length, logBytes)));
    this.#seq = seq;
    this.apply(records);
  }

  async #connect(bytes: Uint8Array): Promise<void> {
    const SQL = await loadSqlEngine();
    const conn = new Connection(new SQL.Database(bytes));
    // As the store's own database: one connection, sql.js's file is volatile (durability is the
    // journal's), temp b-trees in memory, and a transaction's pages kept in the cache.
    conn.exec(
      'PRAGMA temp_store = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; ' +
        'PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON; PRAGMA cache_spill = 16384',
    );
    this.#conn = conn;
    this.#opened = writesReach(conn, bytes) ? bytes : null;
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

  /**
   * The database file now, as a view of the memory sql.js keeps it in (read it before the next
   * message is handled). When sql.js has moved the file out of the bytes the database was opened
   * from (it outgrew their room), exports it once and reopens the database on the export with new
   * room, so that the next call is a view again.
   */
  async file(): Promise<{ file: Uint8Array; seq: number }> {
    const conn = this.#usable();
    const live = this.#opened && liveFile(this.#opened, Number(conn.pragma('page_count')), Number(conn.pragma('page_size')));
    if (live) return { file: live, seq: this.#seq };
    const exported = conn.db.export();
    conn.close();
    this.#conn = null;
    this.#opened = null;
    // withRoom copies `exported` into a larger array of its own, so the export stays as it is.
    await this.#connect(withRoom(exported, replicaRoom(exported.length, 0)));
    return { file: exported, seq: this.#seq };
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

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Where SQLite keeps `PRAGMA user_version` in the file header (4 bytes, big-endian). */
const USER_VERSION_AT = 60;

/**
 * True when `conn`'s database, just opened from `bytes`, writes its file into `bytes` (see
 * liveFile): a write to the header's user_version, seen there, then undone. The database is as
 * it was but for its change counter. Should a later sql.js copy the bytes it is given, this says
 * so and the replica exports as before; read stale, the snapshot would miss writes.
 *
 * @example
 * const live = writesReach(conn, bytes);
 */
export function writesReach(conn: Connection, bytes: Uint8Array): boolean {
  if (bytes.length < 100) return false;
  const header = new DataView(bytes.buffer, bytes.byteOffset, 100);
  const before = Number(conn.pragma('user_version'));
  const probe = (before ^ 0x5a5a5a5a) | 0;
  conn.exec(`PRAGMA user_version = ${probe}`);
  const reached = header.getInt32(USER_VERSION_AT) === probe;
  conn.exec(`PRAGMA user_version = ${before}`);
  return reached && header.getInt32(USER_VERSION_AT) === before;
}
