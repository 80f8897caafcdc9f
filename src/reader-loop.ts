import { messageOf } from './errors.js';
import type { Follower } from './follower.js';
import type { LogTail } from './persistence-adapter.js';

/** Polls per catch-up at most, so a writer that never pauses cannot hold the store's queue forever. */
const MAX_ROUNDS = 64;

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
    const { tail, follower } = this.#options;
    let applied = 0;
    // Until the tail has nothing more: records left in an old log come before the reload after them.
    for (let round = 0; !this.#stopped && round < MAX_ROUNDS; round++) {
      const polled = await tail.poll();
      if (polled !== 'reload' && polled.length === 0) break;
      const done = polled === 'reload' ? 'behind' : follower.apply(polled);
      if (done === 'behind') {
        applied += await follower.resync(await tail.load());
        break;
      }
      applied += done;
    }
    this.#failing = false;
    return applied;
  }
}
