import type { ChangeSet, RowOp } from './change-capture.js';
import { messageOf } from './errors.js';

/** One row a commit changed. */
export interface RowChange {
  readonly table: string;
  readonly op: RowOp | 'delete';
  /** The row's rowid (its INTEGER PRIMARY KEY, `id` in the built-in tables). */
  readonly rowid: number;
}

/**
 * What a change feed listener gets: one event per commit, in commit order. `reset: true` means the
 * database moved on by more than row changes can tell (a reader that fell behind a checkpoint, a
 * schema change, VACUUM): `changes` is then empty, and the listener should re-read what it shows.
 */
export interface ChangeEvent {
  /** The commit's sequence number; it grows by one per commit and goes on across checkpoints and reopens. */
  readonly seq: number;
  readonly changes: readonly RowChange[];
  readonly reset?: true;
}

/** A change feed listener; what it throws (or its promise rejects with) goes to `onWarning`. */
export type ChangeListener = (event: ChangeEvent) => void | Promise<void>;

/**
 * The store's change feed: calls every listener once per event, in the order they subscribed. A
 * listener that throws is reported and never stops the store or the other listeners.
 *
 * @example
 * const feed = new ChangeFeed((message) => console.warn(message));
 * const off = feed.subscribe(({ seq, changes }) => console.log(seq, changes));
 * feed.emit({ seq: 1, changes: [{ table: 'missions', op: 'insert', rowid: 1 }] });
 * off();
 */
export class ChangeFeed {
  readonly #warn: (message: string) => void;
  #listeners: ChangeListener[] = [];

  constructor(warn: (message: string) => void) {
    this.#warn = warn;
  }

  /** Adds a listener; returns the function that removes it (safe to call twice). */
  subscribe(listener: ChangeListener): () => void {
    // A copy per change: an emit in progress goes on with the listeners it started with.
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** True when someone listens: the caller can skip building events nobody reads. */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  /** Calls every listener with `event`. */
  emit(event: ChangeEvent): void {
    for (const listener of this.#listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.#failed(event, error));
      } catch (error) {
        this.#failed(event, error);
      }
    }
  }

  /** Removes every listener (the store closed). */
  clear(): void {
    this.#listeners = [];
  }

  #failed(event: ChangeEvent, error: unknown): void {
    this.#warn(`a change feed listener failed on commit ${event.seq}: ${messageOf(error)}`);
  }
}

/**
 * The row changes of one commit, per table in the record's order: deletes, then the rows written.
 * `opOf` answers for an upsert whose record carries no op (written before format 3).
 */
export function changesOf(set: ChangeSet, opOf?: (table: string, rowid: bigint) => RowOp): RowChange[] {
  const changes: RowChange[] = [];
  for (const { table, deletes, upserts } of set.tables) {
    for (const rowid of deletes) changes.push({ table, op: 'delete', rowid: Number(rowid) });
    for (const [rowid, , op] of upserts) changes.push({ table, op: op ?? opOf?.(table, rowid) ?? 'update', rowid: Number(rowid) });
  }
  return changes;
}
