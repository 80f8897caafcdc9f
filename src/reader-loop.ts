import { messageOf } from './errors.js';
import type { Follower } from './follower.js';
import type { LogTail } from './persistence-adapter.js';

/** What a `ReaderLoop` needs from its store. */
export interface ReaderLoopOptions {
  readonly tail: LogTail;
  readonly follower: Follower;
  /** Names the storage in messages. */
  readonly location: string;
  /** Runs `task` after the store's pending calls, never alongside one. */
  readonly enqueue: (task: () => Promise<number>) => Promise<number>;
  /** Where failures of catch-ups nobody awaited are reported. */
  readonly warn: (message: string) => void;
}

/**
 * Drives a read-only store: whenever the storage says it changed, and on `refresh()`, polls the
 * log tail and hands what it finds to the follower. Catch-ups run on the store's queue, one at a
 * time; a change noticed while one waits to start joins it rather than queueing another.
 *
 * @example
 * const loop = new ReaderLoop({ tail, follower, enqueue: (task) => queue.run(task), warn });
 * loop.start();
 * const applied = await loop.refresh();
 */
export class ReaderLoop {
  readonly #options: ReaderLoopOptions;
  #unwatch: (() => void) | null = null;
  #pending: Promise<number> | null = null;
  #failing = false;
  #stopped = false;

  constructor(options: ReaderLoopOptions) {
    this.#options = options;
  }

  /** Starts following the storage's changes. */
  start(): void {
    this.#unwatch = this.#options.tail.watch(() => {
      this.#schedule().catch((error: unknown) => {
        // One warning per streak of failures: a log that stays unreadable would repeat it at every poll.
        if (this.#failing || this.#stopped) return;
        this.#failing = true;
        this.#options.warn(
          `the reader of ${this.#options.location} could not catch up (it retries at the next change): ${messageOf(error)}`,
        );
      });
    });
  }

  /** Catches up now; resolves with how many commits the database moved forward. */
  refresh(): Promise<number> {
    return this.#schedule();
  }

  /** Stops following and releases the tail. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unwatch?.();
    this.#unwatch = null;
    await this.#options.tail.close();
  }

  #schedule(): Promise<number> {
    if (this.#pending) return this.#pending;
    const pending = this.#options.enqueue(async () => {
      // Started: a change noticed from here on may come after what this catch-up reads.
      this.#pending = null;
      return this.#catchUp();
    });
    this.#pending = pending;
    return pending;
  }

  async #catchUp(): Promise<number> {
    if (this.#stopped) return 0;
    const { tail, follower } = this.#options;
    const polled = await tail.poll();
    let applied: number | 'behind' = 'behind';
    if (polled !== 'reload') applied = follower.apply(polled);
    if (applied === 'behind') applied = await follower.resync(await tail.load());
    this.#failing = false;
    return applied;
  }
}
