import type { Connection } from './connection.js';

/** The most repository writes one commit record carries: bounds how long the first of them waits. */
export const MAX_BATCH = 256;

/** A repository write waiting for the commit that will make it durable. */
export interface BatchItem {
  /** The write's body: runs inside the batch's transaction, in its own savepoint when batched. */
  readonly run: (conn: Connection) => unknown;
  /** The store queue's call count when the write was queued, or -1 when it must commit alone. */
  readonly ticket: number;
  /** Resolves the caller's promise once the batch is durable. */
  readonly resolve: (value: unknown) => void;
  /** Rejects the caller's promise. */
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for repository writes: writes queued back to back, with no other store call
 * between them, share one transaction, one commit record and one flush. Each write still
 * resolves only once that record is durable. The queue order is kept: a batch takes only the
 * writes that would have run next anyway, so no read or transaction queued between two writes
 * sees one without the other.
 */
export class WriteBatch {
  readonly #pending: BatchItem[] = [];

  /** Queues `item` for the next batch that reaches it. */
  add(item: BatchItem): void {
    this.#pending.push(item);
  }

  /**
   * The batch `item`'s queue turn commits: `item` and the writes queued right behind it, or
   * nothing when an earlier batch took `item` already.
   */
  take(item: BatchItem): BatchItem[] {
    if (this.#pending[0] !== item) return this.#pending.includes(item) ? this.#takeOut(item) : [];
    let end = 1;
    while (end < this.#pending.length && end < MAX_BATCH && this.#follows(this.#pending[end - 1]!, this.#pending[end]!)) end++;
    return this.#pending.splice(0, end);
  }

  /** Drops `item` if no batch took it (its queue turn was refused): it must never commit. */
  drop(item: BatchItem): boolean {
    const at = this.#pending.indexOf(item);
    if (at < 0) return false;
    this.#pending.splice(at, 1);
    return true;
  }

  #follows(before: BatchItem, after: BatchItem): boolean {
    return before.ticket >= 0 && after.ticket === before.ticket + 1;
  }

  // Not at the head: an item ahead of it was refused or is still waiting its turn. It commits alone.
  #takeOut(item: BatchItem): BatchItem[] {
    this.drop(item);
    return [item];
  }
}
