import type { Connection, Row } from './connection.js';
import { StoreError } from './errors.js';
import { openCursor, type QueryParams, type QueryRequest, queryRequest, readBatch } from './raw-query.js';
import type { SqlJsStatement as Statement } from './sql-js.js';
import { describe } from './validate.js';

/** Options of `store.iterate` and `tx.iterate`. */
export interface IterateOptions {
  /** Rows read per batch, each batch one turn of the store's queue. Default 256. */
  readonly batchSize?: number;
}

/** Rows per batch when `batchSize` is not given. */
export const DEFAULT_BATCH_SIZE = 256;

/** Where a RowIterator reads: one queued turn per batch, on the store or inside a transaction. */
export interface RowSource {
  /** `store.iterate()` or `tx.iterate()`, for messages. */
  readonly label: string;
  /**
   * Runs `fn` as one turn of the queue. `opening` is true for the turn that prepares the
   * statement, which the guard must judge inside a transaction.
   */
  read<R>(fn: (conn: Connection) => R, opening: boolean): Promise<R>;
  /** Whose statements these are, so that the end of a transaction can free only its own. */
  readonly owner: object | null;
}

/**
 * Streams the rows of one read, `batchSize` at a time. The statement stays prepared between
 * batches, so rows are never read twice or re-sorted; each batch is one turn of the store's
 * queue, so other calls (writes included) run between batches and SQLite's cursor carries on
 * from its position in the changed data. Ending the loop early (`break`, a throw) frees the
 * statement; so does an error, exhausting it, closing the store, or a schema change, after
 * which the next batch rejects with CLOSED.
 *
 * @example
 * for await (const row of store.iterate<{ id: number }>('SELECT id FROM tool_calls ORDER BY id')) console.log(row.id);
 */
export class RowIterator<T> implements AsyncIterableIterator<T> {
  readonly #source: RowSource;
  readonly #request: QueryRequest | StoreError;
  readonly #batchSize: number | StoreError;
  #rows: Row[] = [];
  #next = 0;
  #statement: Statement | null = null;
  #release: (() => void) | null = null;
  #started = false;
  #done = false;
  // Why the connection ended the statement, reported at the next batch.
  #ended: string | null = null;
  // next() calls made without awaiting the previous one take their turns in order.
  #turn: Promise<unknown> = Promise.resolve();
  #waiting = 0;

  constructor(source: RowSource, sql: string, params: QueryParams | undefined, options: IterateOptions | undefined) {
    this.#source = source;
    // Bad input rejects the first next(), inside the caller's for-await, rather than here.
    this.#request = attempt(() => queryRequest(sql, params));
    this.#batchSize = attempt(() => batchSize(options));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next row; done once every row was read. */
  next(): Promise<IteratorResult<T>> {
    // The first waiter starts at once, in the caller's stack: the store's DEADLOCK check reads
    // that stack to refuse, at once, a store.iterate() made inside a transaction callback.
    const result = this.#waiting === 0 ? this.#advance() : this.#turn.then(() => this.#advance());
    this.#waiting++;
    const settled = result.then(
      () => this.#waiting--,
      () => this.#waiting--,
    );
    this.#turn = settled;
    return result;
  }

  /** Stops early: frees the statement at once. `for await` calls it on `break` and on a throw. */
  return(): Promise<IteratorResult<T>> {
    this.#finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  async #advance(): Promise<IteratorResult<T>> {
    if (this.#next < this.#rows.length) return { done: false, value: this.#rows[this.#next++] as T };
    if (this.#done) return { done: true, value: undefined };
    if (this.#request instanceof StoreError) return this.#fail(this.#request);
    if (this.#batchSize instanceof StoreError) return this.#fail(this.#batchSize);
    const request = this.#request;
    const size = this.#batchSize;
    const opening = !this.#started;
    this.#started = true;
    let rows: Row[];
    try {
      rows = await this.#source.read((conn) => {
        // return() may have run while this batch waited for its turn.
        if (this.#done) return [];
        if (opening) this.#open(conn, request);
        if (this.#ended !== null || this.#statement === null) {
          throw new StoreError('CLOSED', `${this.#source.label} cannot go on: ${this.#ended ?? 'its statement was freed'}; run it again`);
        }
        return readBatch(this.#statement, size, request.sql);
      }, opening);
    } catch (error) {
      return this.#fail(error);
    }
    if (rows.length < size) this.#finish();
    this.#rows = rows;
    this.#next = 0;
    if (rows.length === 0) return { done: true, value: undefined };
    return { done: false, value: this.#rows[this.#next++] as T };
  }

  #open(conn: Connection, request: QueryRequest): void {
    const statement = openCursor(conn, request, this.#source.label);
    this.#statement = statement;
    this.#release = conn.hold(
      statement,
      (why) => {
        this.#statement = null;
        this.#release = null;
        this.#ended = why;
      },
      this.#source.owner,
    );
  }

  #fail(error: unknown): never {
    this.#finish();
    throw error;
  }

  #finish(): void {
    this.#done = true;
    this.#rows = [];
    this.#next = 0;
    this.#release?.();
    this.#release = null;
    this.#statement = null;
  }
}

function batchSize(options: IterateOptions | undefined): number {
  if (options === undefined) return DEFAULT_BATCH_SIZE;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new StoreError('INVALID_INPUT', `iterate options must be an object, got ${describe(options)}`);
  }
  const size = options.batchSize;
  if (size === undefined) return DEFAULT_BATCH_SIZE;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
    throw new StoreError('INVALID_INPUT', `batchSize must be an integer >= 1, got ${describe(size)}`);
  }
  return size;
}

function attempt<T>(fn: () => T): T | StoreError {
  try {
    return fn();
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw error;
  }
}
