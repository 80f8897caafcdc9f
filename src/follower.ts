import { quoteIdent, type RowOp } from './change-capture.js';
import { type ChangeEvent, changesOf } from './change-feed.js';
import type { Connection } from './connection.js';
import { messageOf, StoreError } from './errors.js';
import { extendsSnapshot, isPreviousGeneration } from './log-lineage.js';
import type { LoadedState } from './persistence-adapter.js';
import { type CommitRecord, decodeRecord } from './record-codec.js';
import { replayRecords } from './replay.js';
import { readGeneration, readIdentity, readSeq } from './snapshot-header.js';
import type { StoreIdentity } from './store-identity.js';

/** What a `Follower` needs from the store whose database it keeps up to date. */
export interface FollowerHost {
  /** Names the storage in messages. */
  readonly location: string;
  /** The database as it is now. */
  connection(): Connection;
  /** Builds a database from a snapshot and the records that extend it (the store's open path). */
  build(snapshot: Uint8Array | null, records: readonly CommitRecord[]): Promise<Connection>;
  /** Puts `conn` in place of the current database, which it closes. */
  replace(conn: Connection): void;
  /** Hands one event to the change feed. */
  emit(event: ChangeEvent): void;
  /** True when the feed has listeners: events need not be built otherwise. */
  readonly listening: boolean;
}

/**
 * Keeps a database that another engine writes up to date: applies the commit records that engine
 * appended (from a log tail, or from whatever carries them, such as a channel between tabs) and
 * emits one change feed event per commit. When the records no longer continue what the database
 * holds (a checkpoint it fell behind, a schema change, a replaced store), it rebuilds the
 * database from a fresh load and emits one `{ seq, reset: true }` event.
 *
 * @example
 * const follower = new Follower(host);
 * await follower.start(await tail.load());
 * if (follower.apply(await tail.poll()) === 'behind') await follower.resync(await tail.load());
 */
export class Follower {
  readonly #host: FollowerHost;
  #identity: StoreIdentity | null = null;
  #generation = 0;
  #seq = 0;

  constructor(host: FollowerHost) {
    this.#host = host;
  }

  /** The number of the last commit the database holds. */
  get seq(): number {
    return this.#seq;
  }

  /** Builds the first database from a load, without events; gives it to the caller. */
  async start(state: LoadedState): Promise<Connection> {
    const view = this.#decode(state);
    const conn = await this.#host.build(state.snapshot, view.records);
    this.#adopt(view);
    return conn;
  }

  /**
   * Applies the records that continue the database (older ones are skipped), in one transaction,
   * then emits their events; resolves with how many it applied. 'behind' when they do not
   * continue it (a newer snapshot, a gap, another store): nothing was applied, call `resync`.
   */
  apply(bytes: readonly Uint8Array[]): number | 'behind' {
    const records: CommitRecord[] = [];
    let next = this.#seq + 1;
    for (const [index, raw] of bytes.entries()) {
      const record = this.#decodeOne(raw, index);
      if (record.identity !== null && this.#identity !== null && record.identity !== this.#identity) return 'behind';
      // The generation before this one goes on past a checkpoint taken from a replica (see
      // extendsSnapshot): its records are told apart by their numbers like this one's.
      if (record.generation !== this.#generation && !isPreviousGeneration(record.generation, this.#generation)) {
        // Generations only grow: an older one is a record a checkpoint already folded in.
        if (record.generation < this.#generation) continue;
        return 'behind';
      }
      if (record.seq < next) continue;
      if (record.seq > next) return 'behind';
      records.push(record);
      next++;
    }
    this.#replay(records);
    return records.length;
  }

  /**
   * Takes a fresh load after `apply` said 'behind' or the storage said 'reload'. When the load
   * continues what the database holds (a checkpoint of commits already applied, perhaps with
   * records after it), it applies what is new; otherwise it rebuilds the database and emits one
   * reset event. Resolves with how many commits the database moved forward.
   */
  async resync(state: LoadedState): Promise<number> {
    const view = this.#decode(state);
    const start = this.#seq;
    const sameStore = view.identity === null || this.#identity === null || view.identity === this.#identity;
    if (sameStore && view.generation !== this.#generation && view.snapshotSeq > this.#seq) {
      // A checkpoint folded in commits this database lacks; the log may still hold them under
      // the old generation (the holder resets it just after the snapshot): catch up through them.
      const old = state.records.filter((raw) => this.#peekGeneration(raw) === this.#generation);
      const applied = this.apply(old);
      if (applied !== 'behind' && this.#seq === view.snapshotSeq) {
        this.#adopt({ ...view, seq: this.#seq });
        if (this.apply(state.records) !== 'behind') return this.#seq - start;
      }
    }
    const before = this.#seq;
    const continues =
      view.generation === this.#generation || view.snapshotSeq === this.#seq || isPreviousGeneration(this.#generation, view.generation);
    if (sameStore && continues && view.snapshotSeq <= this.#seq) {
      // The database already equals the snapshot plus the records up to #seq (a checkpoint taken
      // from a replica holds the commits up to its number of the lineage this database follows).
      this.#adopt({ ...view, seq: this.#seq });
      if (this.apply(state.records) !== 'behind') return this.#seq - start;
    }
    // Rebuilt from the snapshot alone: the records after it then arrive as ordinary events.
    const conn = await this.#host.build(state.snapshot, []);
    this.#host.replace(conn);
    this.#adopt({ ...view, seq: view.snapshotSeq });
    if (this.#seq !== before || !sameStore) this.#host.emit({ seq: this.#seq, changes: [], reset: true });
    // A gap after the snapshot ('behind') leaves the rest for the next catch-up.
    this.apply(state.records);
    return Math.max(0, this.#seq - start);
  }

  #adopt(view: { identity: StoreIdentity | null; generation: number; seq: number }): void {
    this.#identity = view.identity;
    this.#generation = view.generation;
    this.#seq = view.seq;
  }

  /** The snapshot's place in the store's history, and the records of the log that extend it. */
  #decode(state: LoadedState): {
    identity: StoreIdentity | null;
    generation: number;
    snapshotSeq: number;
    seq: number;
    records: CommitRecord[];
  } {
    const generation = readGeneration(state.snapshot);
    const decoded = state.records.map((raw, index) => this.#decodeOne(raw, index));
    const identity = state.snapshot ? readIdentity(state.snapshot) : (decoded[0]?.identity ?? null);
    const snapshotSeq = readSeq(state.snapshot);
    const records: CommitRecord[] = [];
    for (const record of decoded) {
      if (!extendsSnapshot(record, { generation, seq: snapshotSeq }) || (identity !== null && record.identity !== identity)) continue;
      const expected = records.length === 0 ? record.seq : records[records.length - 1]!.seq + 1;
      // A gap means a record is missing: keep what is certain, the holder repairs or refuses the rest.
      if (record.seq !== expected) break;
      records.push(record);
    }
    const seq = Math.max(snapshotSeq, records[records.length - 1]?.seq ?? 0);
    return { identity, generation, snapshotSeq, seq, records };
  }

  #decodeOne(raw: Uint8Array, index: number): CommitRecord {
    try {
      return decodeRecord(raw);
    } catch (error) {
      throw new StoreError('CORRUPT', `log record ${index + 1} read from ${this.#host.location} is damaged: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  #peekGeneration(raw: Uint8Array): number | null {
    try {
      return decodeRecord(raw).generation;
    } catch {
      return null;
    }
  }

  /** Redoes `records` in one transaction and emits their events once it has committed. */
  #replay(records: readonly CommitRecord[]): void {
    if (records.length === 0) return;
    const conn = this.#host.connection();
    const listening = this.#host.listening;
    const events: ChangeEvent[] = [];
    // Records hold final row images: with foreign keys on, the INSERT OR REPLACE of a parent row
    // would cascade to its children. Off for the redo, as on open.
    conn.exec('PRAGMA foreign_keys = OFF; BEGIN');
    try {
      for (const record of records) {
        if (listening) events.push({ seq: record.seq, changes: this.#changesBefore(conn, record) });
        replayRecords(conn, [record]);
      }
      conn.exec('COMMIT; PRAGMA foreign_keys = ON');
    } catch (error) {
      conn.exec('ROLLBACK; PRAGMA foreign_keys = ON');
      throw new StoreError('CORRUPT', `a record read from ${this.#host.location} does not apply: ${messageOf(error)}`, {
        cause: error,
      });
    }
    this.#seq = records[records.length - 1]!.seq;
    for (const event of events) this.#host.emit(event);
  }

  /**
   * A record's row changes, read before it is redone. Records written before format 3 carry no
   * op, and may list deletes of rows that never existed: the database as it is answers both.
   */
  #changesBefore(conn: Connection, record: CommitRecord): ChangeEvent['changes'] {
    const exists = (table: string, rowid: bigint) =>
      conn.rawRows(`SELECT 1 FROM main.${quoteIdent(table)} WHERE rowid = ?`, [rowid]).length > 0;
    const tables = record.changes.tables.map((t) => ({ ...t, deletes: t.deletes.filter((rowid) => exists(t.table, rowid)) }));
    return changesOf({ ...record.changes, tables }, (table, rowid): RowOp => (exists(table, rowid) ? 'update' : 'insert'));
  }
}
