import type { Connection } from './connection.js';
import { StoreError } from './errors.js';

/**
 * The largest database the engine holds and gives back: sql.js keeps the file in one JS
 * Uint8Array, which V8 (Node 20, Chromium) caps at 2^32 bytes (4 GiB), and grows it by an eighth
 * at a time; past ~3.8 GB that eighth no longer fits and every page appended copies the whole
 * file. 3.5 GiB keeps growth geometric and leaves room for a transaction in flight.
 */
export const ENGINE_MAX_BYTES = 3.5 * 2 ** 30;

const SIZE_SQL = 'SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()';

/** The share of the limit past which the store warns, once. */
const WARN_AT = 0.75;
/**
 * The share of the limit past which a write measures the size before it too (see `nearLimit`);
 * below it, one measure after the write decides.
 */
const NEAR = 0.9;

/** What `SizeLimit` needs. */
export interface SizeLimitOptions {
  /** The limit in bytes. */
  readonly maxBytes: number;
  /** Names the store in messages. */
  readonly location: string;
  /** Where the one warning at 75% goes. */
  readonly warn: (message: string) => void;
}

/** The limit a store opened with `maxBytes` on an adapter that may hold less runs under; INVALID_INPUT for a bad option. */
export function storeLimit(maxBytes: unknown, adapterMax: number | undefined): number {
  if (maxBytes !== undefined && !(typeof maxBytes === 'number' && Number.isFinite(maxBytes) && maxBytes > 0)) {
    throw new StoreError('INVALID_INPUT', `maxBytes must be a positive number of bytes, not ${String(maxBytes)}`);
  }
  return Math.min(maxBytes ?? Number.POSITIVE_INFINITY, adapterMax ?? Number.POSITIVE_INFINITY, ENGINE_MAX_BYTES);
}

/**
 * Keeps a store below the size it could still checkpoint and reopen: a write transaction that
 * grew the database past the limit is refused with FULL before its record is made durable, so
 * nothing acknowledged is ever beyond reach. A transaction that does not grow the file (a delete,
 * an update in place) always passes, so a full store can still be pruned.
 *
 * @example
 * const limit = new SizeLimit({ maxBytes: 1 << 30, location, warn });
 * const before = limit.sizeOf(conn); conn.run('BEGIN'); ...; limit.check(conn, before); // then append, COMMIT
 */
export class SizeLimit {
  readonly maxBytes: number;
  readonly #location: string;
  readonly #warn: (message: string) => void;
  #warned = false;
  /** The size last measured; unknown (infinite) until a first measure, and after `forget`. */
  #last = Number.POSITIVE_INFINITY;

  constructor(options: SizeLimitOptions) {
    this.maxBytes = options.maxBytes;
    this.#location = options.location;
    this.#warn = options.warn;
  }

  /** The database's size now: page_count × page_size, which is what an export writes (one cached statement). */
  sizeOf(conn: Connection): number {
    this.#last = Number(conn.rawRows(SIZE_SQL)[0]?.[0] ?? 0);
    return this.#last;
  }

  /**
   * True when a write must measure the size before it as well as after: the size last measured
   * (after the last write, as a rule) is past 90% of the limit, or unknown. Below that, a write
   * whose result is past the limit grew the database to get there, so it is refused without the
   * measure before it (7–14 µs a measure in sql.js). If the database changed without a measure
   * (a reload, VACUUM, a tab taking over; see `forget`), the one thing a stale size can do is
   * refuse a write that did not grow a full store: never let one past the limit.
   */
  get nearLimit(): boolean {
    return this.#last > this.maxBytes * NEAR;
  }

  /** The database changed outside a write (rebuilt, vacuumed): the next write measures before itself. */
  forget(): void {
    this.#last = Number.POSITIVE_INFINITY;
  }

  /** Warns once when the database passes 75% of the limit; returns its size. */
  observe(conn: Connection): number {
    const size = this.sizeOf(conn);
    if (!this.#warned && size > this.maxBytes * WARN_AT) {
      this.#warned = true;
      this.#warn(
        `the store at ${this.#location} holds ${amount(size)}, past ${WARN_AT * 100}% of its limit of ${amount(this.maxBytes)}; ` +
          `writes that grow it past the limit will be refused with FULL. ${WAY_OUT}`,
      );
    }
    return size;
  }

  /**
   * Throws FULL when the open transaction grew the database (from `before` bytes) past the
   * limit; the caller rolls it back. Otherwise warns at 75% (once) and returns the size now.
   * Without `before` (not `nearLimit` when the write began), any size past the limit is FULL.
   */
  check(conn: Connection, before?: number): number {
    const size = this.observe(conn);
    if (size > this.maxBytes && (before === undefined || size > before)) {
      throw new StoreError(
        'FULL',
        `the store at ${this.#location} is full: this write would grow it to ${amount(size)}, past its limit of ` +
          `${amount(this.maxBytes)}, and was rolled back (nothing was written). ${WAY_OUT}`,
      );
    }
    return size;
  }
}

const WAY_OUT =
  'Make room: archive old missions (`agent-ops archive`, store.archive), prune them (retention, store.missions.delete), ' +
  'then VACUUM to shrink the file; or open with a larger maxBytes if the runtime allows it';

function amount(bytes: number): string {
  return `${bytes} bytes (${(bytes / 2 ** 20).toFixed(1)} MiB)`;
}
