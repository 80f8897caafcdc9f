import type { ChunkHashes } from './persistence-adapter.js';

/** What the store sends its replica worker. */
export type ReplicaRequest =
  /** (Re)builds the replica: the snapshot, then the records that extend it, as the log holds them. */
  | { readonly kind: 'open'; readonly snapshot: Uint8Array | null; readonly records: readonly Uint8Array[] }
  /** Durable records, in order, to apply. */
  | { readonly kind: 'apply'; readonly records: readonly Uint8Array[] }
  /** The database now, once every record sent before is applied. */
  | { readonly kind: 'export'; readonly id: number };

/** What the replica worker answers. */
export type ReplicaReply =
  /** `bytes` is the database holding every commit up to `seq`. */
  | { readonly kind: 'exported'; readonly id: number; readonly seq: number; readonly bytes: Uint8Array; readonly chunkHashes?: ChunkHashes }
  /** The replica cannot go on (a record did not apply, the engine failed); `id` when an export asked. */
  | { readonly kind: 'failed'; readonly message: string; readonly id?: number };
