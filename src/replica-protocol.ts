import type { ChunkBase, ChunkHashes, SnapshotChunks } from './persistence-adapter.js';

/** What the store sends its replica worker. */
export type ReplicaRequest =
  /**
   * (Re)builds the replica: the snapshot, then the records that extend it, as the log holds them.
   * `roomAfter`: the bytes after the snapshot in its (moved) buffer are zero, room to open it in place.
   */
  | { readonly kind: 'open'; readonly snapshot: Uint8Array | null; readonly records: readonly Uint8Array[]; readonly roomAfter?: boolean }
  /** Durable records, in order, to apply. */
  | { readonly kind: 'apply'; readonly records: readonly Uint8Array[] }
  /**
   * The database now, once every record sent before is applied. With `since` (the adapter's
   * `chunkBase`), a worker that hashes chunks of that size answers with only the chunks that
   * differ from it (null: all of them, each a chunk of its own).
   */
  | { readonly kind: 'export'; readonly id: number; readonly since?: ChunkBase | null };

/** What the replica worker answers. */
export type ReplicaReply =
  /** The database holding every commit up to `seq`: whole in `bytes`, or as the chunks that differ from `since`. */
  | {
      readonly kind: 'exported';
      readonly id: number;
      readonly seq: number;
      readonly bytes?: Uint8Array;
      readonly chunkHashes?: ChunkHashes;
      readonly chunks?: SnapshotChunks;
    }
  /** The replica cannot go on (a record did not apply, the engine failed); `id` when an export asked. */
  | { readonly kind: 'failed'; readonly message: string; readonly id?: number };
