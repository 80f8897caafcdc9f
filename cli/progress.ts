/** A progress bar on stderr, drawn only when stderr is a terminal and the work is large. */
export class Progress {
  readonly #total: number;
  readonly #enabled: boolean;
  #drawn = -1;

  /** `enabled`: stderr is a TTY; the bar shows only from `threshold` items up. */
  constructor(total: number, enabled: boolean, threshold = 100) {
    this.#total = total;
    this.#enabled = enabled && total >= threshold;
  }

  /** Redraws at `done` of the total (at most once per percent). */
  update(done: number): void {
    if (!this.#enabled) return;
    const percent = Math.floor((done / this.#total) * 100);
    if (percent === this.#drawn) return;
    this.#drawn = percent;
    const filled = Math.round(percent / 5);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${done}/${this.#total}`);
  }

  /** Ends the bar's line, so messages after it start on their own. */
  done(): void {
    if (this.#enabled && this.#drawn >= 0) process.stderr.write('\n');
  }
}
