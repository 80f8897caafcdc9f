import type { Connection } from './connection.js';

/**
 * How a repository runs its SQL. The store's executor serialises every call, wraps writes
 * in a transaction and resolves them once the commit record is durable; a transaction's
 * executor runs inside the transaction already open. Repositories see only this.
 */
export interface Executor {
  /** Runs `fn` with a consistent view of the database. */
  read<T>(fn: (conn: Connection) => T): Promise<T>;
  /** Runs `fn` atomically: all of its changes become durable together, or none do. */
  write<T>(fn: (conn: Connection) => T, options?: WriteOptions): Promise<T>;
  /** The store's clock. */
  now(): Date;
  /** Throws READ_ONLY when the store only reads; for checks that must come before a side effect. */
  assertWritable?(label: string): void;
  /**
   * In a tab that follows another (tabs sharing one store): sends the repository call to the
   * leading tab and gives its result; null when this store writes itself. For calls that must
   * not run twice here (track's tool has run already), so they cannot wait to fail and be resent.
   */
  forward?(target: string, method: string, args: unknown[]): Promise<unknown> | null;
}

/** What a repository tells about a write, so the executor can do less for it. */
export interface WriteOptions {
  /**
   * `fn` changes the database with one statement at most, and throws only before it or from it.
   * SQLite undoes a failed statement by itself, so inside a transaction such a write needs no
   * savepoint of its own to be all-or-nothing (two statements fewer per call).
   */
  readonly oneStatement?: boolean;
}
