import { messageOf } from './errors.js';

/** The first wait after a failed background checkpoint; it doubles with each failure in a row. */
const FIRST_RETRY_MS = 10_000;
/** The longest wait between two attempts while checkpoints keep failing. */
const MAX_RETRY_MS = 10 * 60_000;

/** What `CheckpointScheduler` needs from the store. */
export interface CheckpointSchedulerOptions {
  /** The log's size now, and the size past which the checkpoint policy wants a checkpoint. */
  readonly log: { readonly logBytes: number; readonly checkpointLimit: number };
  /** Runs `task` after the store's pending work, never alongside it. */
  readonly enqueue: (task: () => Promise<void>) => Promise<void>;
  /** Checkpoints now (and does nothing once the store is closed); a success is reported through `checkpointed()`. */
  readonly checkpoint: () => Promise<void>;
  /**
   * Optional. Starts a checkpoint that needs no turn of the queue (taken from a replica while
   * writes go on) and resolves when it ends; or returns null when none can be taken that way now.
   */
  readonly background?: () => Promise<void> | null;
  /** Where the start and the end of a failure streak are reported. */
  readonly warn: (message: string) => void;
  /** Milliseconds now; a test can move it. */
  readonly now?: () => number;
}

/**
 * Queues a background checkpoint once the log outgrows its limit, and backs off while they fail
 * (a full disk): after the n-th failure in a row, the next attempt waits until the log has grown
 * by 2^(n-1) more checkpoint limits, or until 2^(n-1) × 10 s have passed (at most 10 minutes),
 * whichever comes first. Both are checked on the next write, so no timer keeps a process alive.
 * It warns once when a streak starts and once when a checkpoint succeeds again.
 */
export class CheckpointScheduler {
  readonly #options: CheckpointSchedulerOptions;
  readonly #now: () => number;
  #queued = false;
  #inBackground = false;
  #failures = 0;
  #retryAtBytes = 0;
  #retryAtMs = 0;

  constructor(options: CheckpointSchedulerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
  }

  /**
   * True while a checkpoint runs in the background and the log has grown past twice its limit:
   * the writes come so fast, each resolving without the event loop turning (synchronous
   * appends), that the checkpoint's own steps (the replica's reply, the snapshot's writes) cannot
   * run. The store then lets the event loop turn once per write until it lands.
   */
  get lagging(): boolean {
    return this.#inBackground && this.#options.log.logBytes > 2 * this.#options.log.checkpointLimit;
  }

  /** Failed background checkpoints since the last one that succeeded. */
  get failures(): number {
    return this.#failures;
  }

  /** Call after each committed write: queues a background checkpoint when one is due. */
  afterWrite(): void {
    if (this.#queued || !this.#due()) return;
    this.#queued = true;
    const background = this.#options.background?.() ?? null;
    if (background) {
      // Queued until it ends, so two never overlap.
      this.#inBackground = true;
      background.then(
        () => {
          this.#queued = false;
          this.#inBackground = false;
        },
        (error: unknown) => {
          this.#queued = false;
          this.#inBackground = false;
          this.#failed(error);
        },
      );
      return;
    }
    void this.#options.enqueue(async () => {
      this.#queued = false;
      if (!this.#due()) return;
      try {
        await this.#options.checkpoint();
      } catch (error) {
        this.#failed(error);
      }
    });
  }

  /** Call after every checkpoint that succeeded, of any kind: it ends a failure streak. */
  checkpointed(): void {
    if (this.#failures === 0) return;
    this.#options.warn(`checkpoints succeed again, after ${this.#failures} failed background attempt(s)`);
    this.#failures = 0;
  }

  #due(): boolean {
    const { logBytes, checkpointLimit } = this.#options.log;
    if (logBytes <= checkpointLimit) return false;
    return this.#failures === 0 || logBytes >= this.#retryAtBytes || this.#now() >= this.#retryAtMs;
  }

  #failed(error: unknown): void {
    this.#failures++;
    const factor = 2 ** Math.min(this.#failures - 1, 30);
    const { logBytes, checkpointLimit } = this.#options.log;
    this.#retryAtBytes = logBytes + checkpointLimit * factor;
    this.#retryAtMs = this.#now() + Math.min(FIRST_RETRY_MS * factor, MAX_RETRY_MS);
    if (this.#failures > 1) return;
    this.#options.warn(
      `background checkpoint failed, the log keeps growing (every write stays durable); retrying less and less often, ` +
        `without further warnings until one succeeds: ${messageOf(error)}`,
    );
  }
}
