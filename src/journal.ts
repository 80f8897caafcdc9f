import type { ChangeSet } from './change-capture.js';
import { messageOf, StoreError } from './errors.js';
import { extendsSnapshot } from './log-lineage.js';
import type { PersistenceAdapter, PreparedCheckpoint, SnapshotChunks, SnapshotHints } from './persistence-adapter.js';
import { decodeForReplay, encodeRecord, type ReplayRecord } from './record-codec.js';
import { checkSnapshot, readGeneration, readIdentity, readSeq, writeGeneration, writeIdentity, writeSeq } from './snapshot-header.js';
import { mintIdentity, type StoreIdentity } from './store-identity.js';

/** When the store checkpoints on its own: once the log outgrows a share of the snapshot. */
export interface CheckpointPolicy {
  /** Checkpoint when the log exceeds this fraction of the snapshot's size. Default 0.5. */
  readonly logRatio?: number;
  /** ...but never below this many log bytes. Default 1 MiB. */
  readonly minLogBytes?: number;
  /** ...and always above this many, however large the snapshot. Default 64 MiB. */
  readonly maxLogBytes?: number;
  /**
   * Take checkpoints from a replica of the database in a worker once the database is at least
   * this many bytes, so that neither the calling thread nor writes wait for the export (needs an
   * adapter with `prepareCheckpoint` and `spawnReplica`: `fsAdapter`). It costs a second copy of
   * the database in memory. Default 16 MiB; 0: always; `Infinity`: never.
   */
  readonly workerMinBytes?: number;
}

/** What the journal recovered on open: the snapshot and the records to replay on it. */
export interface RecoveredState {
  readonly snapshot: Uint8Array | null;
  readonly records: readonly ReplayRecord[];
  /** The bytes of `records`, as the log holds them (what a replica is fed). */
  readonly raw: readonly Uint8Array[];
  readonly warnings: readonly string[];
  /**
   * True when the store must checkpoint as soon as it is open: it was written before store
   * identities existed and has just been given one, or another store's records were set aside
   * and must leave the log.
   */
  readonly mustCheckpoint: boolean;
}

/**
 * Numbers commit records, appends them through the adapter, decides when to checkpoint, and
 * on open keeps exactly the records that extend the loaded snapshot. Every snapshot and record
 * carries the store's identity; on open, records of another store are never applied.
 */
export class Journal {
  readonly #adapter: PersistenceAdapter;
  readonly #logRatio: number;
  readonly #minLogBytes: number;
  readonly #maxLogBytes: number;
  #generation = 0;
  #identity: StoreIdentity = mintIdentity();
  #nextSeq = 1;
  #logBytes = 0;
  /** The size of each record in the log, oldest first (stale ones included): what a partial checkpoint keeps. */
  #recordSizes: number[] = [];
  #snapshotBytes = 0;
  /** Told each record once it is durable, in order (the store feeds its replica). */
  onDurable: ((record: Uint8Array) => void) | null = null;

  constructor(adapter: PersistenceAdapter, policy: CheckpointPolicy = {}) {
    this.#adapter = adapter;
    this.#logRatio = policy.logRatio ?? 0.5;
    this.#minLogBytes = policy.minLogBytes ?? 1 << 20;
    this.#maxLogBytes = policy.maxLogBytes ?? 64 << 20;
  }

  /**
   * Loads the adapter's state and decodes the records that belong to its snapshot. A record of
   * another store is never returned: the adapter sets the log aside (a warning) or the open
   * fails with CORRUPT.
   */
  async recover(): Promise<RecoveredState> {
    const loaded = await this.#adapter.load();
    const where = this.#adapter.location;
    if (loaded.snapshot) checkSnapshot(loaded.snapshot, `the snapshot at ${where}`);
    this.#generation = readGeneration(loaded.snapshot);
    this.#snapshotBytes = loaded.snapshot?.length ?? 0;
    this.#logBytes = 0;
    this.#recordSizes = [];
    const decoded = loaded.records.map((bytes, index) => {
      try {
        return decodeForReplay(bytes);
      } catch (error) {
        throw new StoreError('CORRUPT', `log record ${index + 1} at ${where} is damaged: ${messageOf(error)}`, { cause: error });
      }
    });
    // Without a snapshot (a store never checkpointed) the first record speaks for the store.
    const owner = loaded.snapshot ? readIdentity(loaded.snapshot) : (decoded[0]?.identity ?? null);
    const warnings = [...loaded.warnings];
    const records: ReplayRecord[] = [];
    const raw: Uint8Array[] = [];
    const foreign: ReplayRecord[] = [];
    const snapshot = { generation: this.#generation, seq: readSeq(loaded.snapshot) };
    let stale = 0;
    let lastSeq = 0;
    for (const [index, record] of decoded.entries()) {
      if (this.#isForeign(record, owner)) {
        foreign.push(record);
        continue;
      }
      this.#logBytes += loaded.records[index]!.length;
      this.#recordSizes.push(loaded.records[index]!.length);
      lastSeq = Math.max(lastSeq, record.seq);
      if (!extendsSnapshot(record, snapshot)) {
        stale++;
        continue;
      }
      const expected = records.length === 0 ? record.seq : records[records.length - 1]!.seq + 1;
      if (record.seq !== expected) {
        throw new StoreError('CORRUPT', `log at ${where} skips from record ${expected - 1} to ${record.seq}: records are missing`);
      }
      records.push(record);
      raw.push(loaded.records[index]!);
    }
    if (foreign.length > 0) warnings.push(await this.#setAside(foreign, loaded.records.length, owner));
    if (stale > 0) {
      warnings.push(
        `${stale} log record(s) at ${where} predate its snapshot (an interrupted checkpoint, or the database ` +
          'file was changed outside agent-ops-store) and were ignored',
      );
    }
    // Commit numbers go on across checkpoints: the snapshot says which commit it ends with.
    this.#nextSeq = Math.max(lastSeq, readSeq(loaded.snapshot)) + 1;
    // A store written before identities existed gets one now; the checkpoint the store makes
    // at once stamps it into the snapshot, so from then on snapshot and records agree.
    const legacy = owner === null && (loaded.snapshot !== null || records.length > 0);
    this.#identity = owner ?? mintIdentity();
    return { snapshot: loaded.snapshot, records, raw, warnings, mustCheckpoint: legacy || foreign.length > 0 };
  }

  /**
   * A record is another store's when its identity differs from the owner's. When one side has
   * no identity (written before identities existed), only a record at the snapshot's own
   * generation can be told apart: one at another generation is stale, as it always was (the
   * log an interrupted upgrade checkpoint left behind looks exactly like that).
   */
  #isForeign(record: ReplayRecord, owner: StoreIdentity | null): boolean {
    if (record.identity === owner) return false;
    return (record.identity !== null && owner !== null) || record.generation === this.#generation;
  }

  /** Lets the adapter set a log holding another store's records aside; refuses with CORRUPT when it cannot. */
  async #setAside(foreign: readonly ReplayRecord[], total: number, owner: StoreIdentity | null): Promise<string> {
    const theirs = [...new Set(foreign.map((r) => r.identity ?? 'none'))].join(', ');
    const reason = `${foreign.length} of its ${total} record(s) belong to another store (identity ${theirs}; this store's is ${owner ?? 'none'})`;
    if (!this.#adapter.setAsideLog) {
      throw new StoreError('CORRUPT', `the log at ${this.#adapter.location} belongs to another store: ${reason}; none of it was applied`);
    }
    return this.#adapter.setAsideLog(reason);
  }

  /** Appends one transaction's changes durably; resolves with the commit's sequence number. */
  async append(changes: ChangeSet): Promise<number> {
    const seq = this.#nextSeq;
    const bytes = encodeRecord({ identity: this.#identity, generation: this.#generation, seq, changes });
    try {
      await this.#adapter.append(bytes);
    } catch (error) {
      throw asIoError(error, `could not append to the log at ${this.#adapter.location}`);
    }
    this.#nextSeq++;
    this.#logBytes += bytes.length;
    this.#recordSizes.push(bytes.length);
    this.onDurable?.(bytes);
    return seq;
  }

  /**
   * Stamps the store identity, the next generation and the last commit number into `snapshot`
   * and makes it the durable state. With `carriesChanges` (a schema change, VACUUM, a migration:
   * changes no record holds) the snapshot takes a commit number of its own, so a reader that
   * sees it knows its database is behind.
   */
  async checkpoint(snapshot: Uint8Array, carriesChanges = false): Promise<void> {
    const generation = (this.#generation + 1) >>> 0 || 1;
    const seq = carriesChanges ? this.#nextSeq : this.#nextSeq - 1;
    writeGeneration(snapshot, generation);
    writeIdentity(snapshot, this.#identity);
    writeSeq(snapshot, seq);
    try {
      await this.#adapter.checkpoint(snapshot);
    } catch (error) {
      throw asIoError(error, `could not checkpoint to ${this.#adapter.location}`);
    }
    this.#nextSeq = seq + 1;
    this.#generation = generation;
    this.#snapshotBytes = snapshot.length;
    this.#logBytes = 0;
    this.#recordSizes = [];
  }

  /**
   * The first half of a checkpoint taken while writes go on: stamps `snapshot` (the database as
   * of commit `seq`, from a replica) for the next generation and has the adapter prepare it. The
   * returned checkpoint's `commit` (called with no append in flight) makes it the durable state,
   * keeping the records appended after `seq`; it resolves false, having discarded it, when another
   * checkpoint landed first.
   */
  async prepareCheckpoint(snapshot: Uint8Array | SnapshotChunks, seq: number, hints?: SnapshotHints): Promise<JournalCheckpoint> {
    const prepare = this.#adapter.prepareCheckpoint?.bind(this.#adapter);
    if (!prepare) throw new StoreError('INVALID_INPUT', `the adapter for ${this.#adapter.location} cannot prepare checkpoints`);
    if (seq > this.lastSeq) throw new StoreError('INVALID_INPUT', `a snapshot of commit ${seq} is ahead of the log (${this.lastSeq})`);
    // The header is in the first chunk, which a snapshot sent as chunks always carries.
    const header = snapshot instanceof Uint8Array ? snapshot : snapshot.chunks.get(0);
    if (!header || header.length < 100) {
      throw new StoreError('INVALID_INPUT', `a snapshot for ${this.#adapter.location} came without its file header`);
    }
    const base = this.#generation;
    const generation = (base + 1) >>> 0 || 1;
    writeGeneration(header, generation);
    writeIdentity(header, this.#identity);
    writeSeq(header, seq);
    const size = snapshot.length;
    let prepared: PreparedCheckpoint;
    try {
      prepared = await prepare(snapshot, hints);
    } catch (error) {
      throw asIoError(error, `could not prepare a checkpoint at ${this.#adapter.location}`);
    }
    return {
      commit: async () => {
        if (this.#generation !== base) {
          await prepared.discard();
          return false;
        }
        const keep = this.lastSeq - seq;
        try {
          await prepared.commit(keep);
        } catch (error) {
          throw asIoError(error, `could not checkpoint to ${this.#adapter.location}`);
        }
        this.#generation = generation;
        this.#snapshotBytes = size;
        this.#recordSizes = keep === 0 ? [] : this.#recordSizes.slice(-keep);
        this.#logBytes = this.#recordSizes.reduce((sum, n) => sum + n, 0);
        return true;
      },
      discard: () => prepared.discard(),
    };
  }

  /** The checkpoint generation of the current snapshot. */
  get generation(): number {
    return this.#generation;
  }

  /** True when the log holds anything a checkpoint would fold in. */
  get hasLog(): boolean {
    return this.#logBytes > 0;
  }

  /** The bytes of this store's records in the log. */
  get logBytes(): number {
    return this.#logBytes;
  }

  /** The log size past which the policy wants a checkpoint. */
  get checkpointLimit(): number {
    return Math.min(this.#maxLogBytes, Math.max(this.#minLogBytes, this.#snapshotBytes * this.#logRatio));
  }

  /** True when the policy says the log has grown enough to checkpoint. */
  get wantsCheckpoint(): boolean {
    return this.#logBytes > this.checkpointLimit;
  }

  /** The number of the last commit, in the log or in the snapshot (0 for a new store). */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /** The identity stamped into this store's snapshots and records. */
  get identity(): StoreIdentity {
    return this.#identity;
  }
}

/** A checkpoint prepared by `Journal.prepareCheckpoint`. */
export interface JournalCheckpoint {
  /** Makes it the durable state; false when another checkpoint landed first (it was discarded). */
  commit(): Promise<boolean>;
  /** Throws it away. */
  discard(): Promise<void>;
}

function asIoError(error: unknown, message: string): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError('IO', `${message}: ${messageOf(error)}`, { cause: error });
}
