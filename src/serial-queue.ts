/**
 * Runs async tasks one at a time, in the order they were queued. The store has one sql.js
 * connection and one log: serialising every operation keeps a write's transaction open only
 * while its own record is appended, so reads never see a write that is not yet durable.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues `task`; resolves or rejects with it. */
  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
