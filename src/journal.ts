import type { ChangeSet } from './change-capture.js';
import { messageOf, StoreError } from './errors.js';
import type { PersistenceAdapter } from './persistence-adapter.js';
import { type CommitRecord, decodeRecord, encodeRecord } from './record-codec.js';
import { checkSnapshot, readGeneration, writeGeneration } from './snapshot-header.js';

/** When the store checkpoints on its own: once the log outgrows a share of the snapshot. */
export interface CheckpointPolicy {
  /** Checkpoint when the log exceeds this fraction of the snapshot's size. Default 0.5. */
  readonly logRatio?: number;
  /** ...but never below this many log bytes. Default 1 MiB. */
  readonly minLogBytes?: number;
  /** ...and always above this many, however large the snapshot. Default 64 MiB. */
  readonly maxLogBytes?: number;
}

/** What the journal recovered on open: the snapshot and the records to replay on it. */
export interface RecoveredState {
  readonly snapshot: Uint8Array | null;
  readonly records: readonly CommitRecord[];
  readonly warnings: readonly string[];
}

/**
 * Numbers commit records, appends them through the adapter, decides when to checkpoint, and
 * on open keeps exactly the records that extend the loaded snapshot.
 */
export class Journal {
  readonly #adapter: PersistenceAdapter;
  readonly #logRatio: number;
  readonly #minLogBytes: number;
  readonly #maxLogBytes: number;
  #generation = 0;
  #nextSeq = 1;
  #logBytes = 0;
  #snapshotBytes = 0;

  constructor(adapter: PersistenceAdapter, policy: CheckpointPolicy = {}) {
    this.#adapter = adapter;
    this.#logRatio = policy.logRatio ?? 0.5;
    this.#minLogBytes = policy.minLogBytes ?? 1 << 20;
    this.#maxLogBytes = policy.maxLogBytes ?? 64 << 20;
  }

  /** Loads the adapter's state and decodes the records that belong to its snapshot. */
  async recover(): Promise<RecoveredState> {
    const loaded = await this.#adapter.load();
    const where = this.#adapter.location;
    if (loaded.snapshot) checkSnapshot(loaded.snapshot, `the snapshot at ${where}`);
    this.#generation = readGeneration(loaded.snapshot);
    this.#snapshotBytes = loaded.snapshot?.length ?? 0;
    this.#logBytes = 0;
    const warnings = [...loaded.warnings];
    const records: CommitRecord[] = [];
    let stale = 0;
    let lastSeq = 0;
    for (const [index, bytes] of loaded.records.entries()) {
      let record: CommitRecord;
      try {
        record = decodeRecord(bytes);
      } catch (error) {
        throw new StoreError('CORRUPT', `log record ${index + 1} at ${where} is damaged: ${messageOf(error)}`, { cause: error });
      }
      this.#logBytes += bytes.length;
      lastSeq = Math.max(lastSeq, record.seq);
      if (record.generation !== this.#generation) {
        stale++;
        continue;
      }
      const expected = records.length === 0 ? record.seq : records[records.length - 1]!.seq + 1;
      if (record.seq !== expected) {
        throw new StoreError('CORRUPT', `log at ${where} skips from record ${expected - 1} to ${record.seq}: records are missing`);
      }
      records.push(record);
    }
    if (stale > 0) {
      warnings.push(
        `${stale} log record(s) at ${where} predate its snapshot (an interrupted checkpoint, or the database ` +
          'file was changed outside agent-ops-store) and were ignored',
      );
    }
    this.#nextSeq = lastSeq + 1;
    return { snapshot: loaded.snapshot, records, warnings };
  }

  /** Appends one transaction's changes durably. */
  async append(changes: ChangeSet): Promise<void> {
    const bytes = encodeRecord({ generation: this.#generation, seq: this.#nextSeq, changes });
    try {
      await this.#adapter.append(bytes);
    } catch (error) {
      throw asIoError(error, `could not append to the log at ${this.#adapter.location}`);
    }
    this.#nextSeq++;
    this.#logBytes += bytes.length;
  }

  /** Stamps the next generation into `snapshot` and makes it the durable state. */
  async checkpoint(snapshot: Uint8Array): Promise<void> {
    const generation = (this.#generation + 1) >>> 0 || 1;
    writeGeneration(snapshot, generation);
    try {
      await this.#adapter.checkpoint(snapshot);
    } catch (error) {
      throw asIoError(error, `could not checkpoint to ${this.#adapter.location}`);
    }
    this.#generation = generation;
    this.#snapshotBytes = snapshot.length;
    this.#logBytes = 0;
  }

  /** True when the log holds anything a checkpoint would fold in. */
  get hasLog(): boolean {
    return this.#logBytes > 0;
  }

  /** True when the policy says the log has grown enough to checkpoint. */
  get wantsCheckpoint(): boolean {
    const limit = Math.min(this.#maxLogBytes, Math.max(this.#minLogBytes, this.#snapshotBytes * this.#logRatio));
    return this.#logBytes > limit;
  }
}

function asIoError(error: unknown, message: string): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError('IO', `${message}: ${messageOf(error)}`, { cause: error });
}
