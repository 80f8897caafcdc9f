/** Where an integration reports a write it could not make. */
export type WarningSink = (message: string) => void;

/** The default sink: console.warn, prefixed with the integration's subpath so the line says where it came from. */
export function consoleWarning(integration: string): WarningSink {
  return (message) => console.warn(`agent-ops-store/integrations/${integration}: ${message}`);
}

/**
 * One integration's writes, run one after another in the order the framework reported its
 * events, so a tool call never reaches the store before its mission. A failed write is
 * reported to the sink and the queue moves on: a recording problem must never reach the agent.
 */
export class WriteQueue {
  #tail: Promise<void> = Promise.resolve();
  readonly #warn: WarningSink;

  constructor(warn: WarningSink) {
    this.#warn = warn;
  }

  /** Queues `write` after every earlier one; the promise resolves when it is done or has failed, and never rejects. */
  run(what: string, write: () => Promise<unknown>): Promise<void> {
    const next = this.#tail.then(write).then(
      () => undefined,
      (error: unknown) => this.warn(`could not record ${what}: ${error instanceof Error ? error.message : String(error)}`),
    );
    this.#tail = next;
    return next;
  }

  /** Reports a problem that is not a failed write (an event the integration cannot place). */
  warn(message: string): void {
    try {
      this.#warn(message);
    } catch {
      // A throwing sink must not turn a recording problem into an agent failure.
    }
  }

  /** Resolves once every write queued so far has finished. */
  flush(): Promise<void> {
    return this.#tail;
  }
}
