// How long the calling thread stops running timers: the bench's measure of "the page froze" or
// "the event loop was blocked". No Node imports: the browser page uses it too.

/**
 * Watches a 1 ms interval timer and keeps the longest gap between two of its ticks beyond the
 * timer's own period: while the thread runs one long task, no tick comes. Timers are clamped
 * (Node ~1 ms; a browser 4 ms once nested), so a gap under a few ms is only the clock.
 */
export class StallMonitor {
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #longest = 0;

  /** Starts watching (again, from zero). */
  start(): void {
    clearInterval(this.#timer);
    this.#longest = 0;
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#longest = Math.max(this.#longest, now - this.#last);
      this.#last = now;
    }, 1);
  }

  /** Stops watching; resolves with the longest stall in ms, the gap up to now included. */
  async stop(): Promise<number> {
    if (this.#timer === undefined) return this.#longest;
    // One more turn of the timer queue, so a stall that ends just before stop() is counted.
    await new Promise((resolve) => setTimeout(resolve, 2));
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#longest = Math.max(this.#longest, performance.now() - this.#last);
    return this.#longest;
  }
}
