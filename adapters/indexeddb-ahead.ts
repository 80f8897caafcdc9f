// The keys of chunks written ahead of a checkpoint, and the writing of them from the replica's
// Web Worker: shared by the IndexedDB adapter (adapters/indexeddb.ts) and its worker entry
// (adapters/replica-worker-browser.ts), which must agree on them byte for byte.

/** The one object store of an agent-ops-store IndexedDB database. */
export const OBJECT_STORE = 'aos';

/**
 * The pause after each chunk written ahead of a checkpoint: back to back, the chunks'
 * transactions kept IndexedDB busy and the page's appends queued behind them (write p99 during
 * checkpoints at 100 MB: 14-19 ms without, 12-14 ms with it, against a p50 of ~3 ms).
 */
export const CHUNK_PAUSE_MS = 10;

/**
 * Where a chunk written ahead of its checkpoint goes: named by its hash, so a reader takes it
 * only once a manifest lists that hash, and passes over it until then. The bytes under such a
 * key are always those of the hash, whoever wrote them, so writing one needs no fencing: a
 * deposed tab's worker can only add a chunk nobody reads, which the next commit deletes.
 */
export function stagedChunkKey(index: number, hash: Uint8Array): IDBValidKey {
  return ['chunk', index, hexOf(hash)];
}

/** A hash as lowercase hex: the last part of a chunk key written ahead of its checkpoint. */
export function hexOf(hash: Uint8Array): string {
  let hex = '';
  for (const byte of hash) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** A chunk to write ahead: its index, its hash, its bytes. */
export interface ChunkAhead {
  readonly index: number;
  readonly hash: Uint8Array;
  readonly bytes: Uint8Array;
}

/**
 * Writes `chunks` under their staged keys into the IndexedDB database `database`, each in a
 * strict transaction of its own followed by a short pause (the page's appends interleave), and
 * resolves once all are durable. Never creates the database: when it is gone (deleted meanwhile),
 * or another connection upgrades or deletes it, this rejects and writes no more.
 *
 * Why from the worker: a page that received the changed chunks of each checkpoint (a 1 MiB
 * buffer each, transferred) and put them itself stopped its timers for 53–103 ms at a time in a
 * bare test page, 60 chunks a round; the same chunks put by the worker, 33–44 ms, as with no
 * chunks at all.
 *
 * @example
 * await writeChunksAhead('agent-ops-store:demo', [{ index: 3, hash, bytes }]);
 */
export async function writeChunksAhead(database: string, chunks: readonly ChunkAhead[]): Promise<void> {
  if (chunks.length === 0) return;
  const db = await openExisting(database);
  let lost: Error | null = null;
  db.onversionchange = () => {
    lost = new Error(`the IndexedDB database ${database} was deleted or upgraded meanwhile`);
    db.close();
  };
  try {
    for (const chunk of chunks) {
      if (lost) throw lost;
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction(OBJECT_STORE, 'readwrite', { durability: 'strict' });
        // A copy of the chunk alone: a view's structured clone carries its whole buffer.
        const { bytes } = chunk;
        const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
        tx.objectStore(OBJECT_STORE).put(own, stagedChunkKey(chunk.index, chunk.hash));
        tx.oncomplete = () => resolve();
        tx.onabort = () => reject(tx.error ?? new Error(`a chunk written ahead into ${database} was aborted`));
      });
      await new Promise<void>((resolve) => setTimeout(resolve, CHUNK_PAUSE_MS));
    }
  } finally {
    db.close();
  }
}

/** Opens `database` as it is; rejects, creating nothing, when it does not exist. */
function openExisting(database: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory) {
      reject(new Error('IndexedDB is unavailable here'));
      return;
    }
    const request = factory.open(database);
    // Only a database that does not exist gets an upgrade here: abort it, so none is created.
    request.onupgradeneeded = () => request.transaction?.abort();
    request.onerror = () => reject(request.error ?? new Error(`cannot open the IndexedDB database ${database}`));
    request.onblocked = () => reject(new Error(`opening ${database} was blocked by a pending upgrade or deletion`));
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(OBJECT_STORE)) {
        db.close();
        reject(new Error(`the IndexedDB database ${database} holds no agent-ops-store`));
        return;
      }
      resolve(db);
    };
  });
}
