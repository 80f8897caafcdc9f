/** At most this many bytes are ever written synchronously by the adaptive mode: a big record's copy would add to the stall. */
export const BLOCKING_APPEND_MAX_BYTES = 64 * 1024;

/** The adaptive mode writes synchronously while appends take at most this long on average (ms). */
export const BLOCKING_APPEND_BUDGET_MS = 2;

// Weight of the newest append in the running average: about the last ten appends count.
const SMOOTHING = 0.1;
// Each append counts for at most twice the budget: a lone stall (a checkpoint's fsync, another
// process's burst of I/O) must not send the next dozen appends to the pool; a disk where most
// flushes are slow still tips the average.
const CLAMP_MS = 2 * BLOCKING_APPEND_BUDGET_MS;

/**
 * Decides, per append, whether the fs adapter writes synchronously (`writeSync` on an O_DSYNC
 * file) or through libuv's thread pool. A synchronous write skips the pool's round trip (two
 * thread hand-offs, ~0.1 ms here, a quarter of a durable write) but blocks the event loop for
 * the flush. `true` and `false` force one way; `undefined` (the default) adapts: synchronous for
 * records up to 64 KiB while the appends have taken at most `BLOCKING_APPEND_BUDGET_MS` on
 * average (each counted as at most twice that), through the pool while most flushes are slower,
 * so a slow or busy disk never keeps the event loop for long: a few slow flushes stall it, then
 * the average moves appends to the pool until the disk is quick again.
 *
 * @example
 * const mode = new AppendMode(undefined);
 * const blocking = mode.blocking(bytes.length);
 * mode.observe(performance.now() - started);
 */
export class AppendMode {
  readonly #setting: boolean | undefined;
  // The running average of append durations; 0 until one was seen, so the first append blocks.
  #averageMs = 0;

  constructor(setting: boolean | undefined) {
    this.#setting = setting;
  }

  /** Whether the next append of `bytes` bytes should be written synchronously. */
  blocking(bytes: number): boolean {
    if (this.#setting !== undefined) return this.#setting;
    return bytes <= BLOCKING_APPEND_MAX_BYTES && this.#averageMs <= BLOCKING_APPEND_BUDGET_MS;
  }

  /** Notes how long an append (write and flush, either way) took, in ms. */
  observe(ms: number): void {
    const counted = Math.min(ms, CLAMP_MS);
    this.#averageMs = this.#averageMs === 0 ? counted : this.#averageMs + SMOOTHING * (counted - this.#averageMs);
  }

  /** The running average of append durations (ms), for tests and diagnostics. */
  get averageMs(): number {
    return this.#averageMs;
  }
}
